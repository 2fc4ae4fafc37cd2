"""Speed and robustness measurements: timing, the bad-input battery."""
