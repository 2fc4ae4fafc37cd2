"""medner's maintained ConText-style rule set: triggers, pseudo-triggers and terminators.

Why our own rules and not negspacy's termset: negspacy covers negation only,
has no scope limit (a trigger reaches every entity up to the sentence end) and
no uncertainty / history / family categories. The phrases below follow
ConText (Harkema et al. 2009) and pyConTextNLP's lexicon, trimmed and extended
on MACCROBAT *train* ("resolved", "disappeared", "free of" ...). negspacy stays
a dependency of the evaluation, as the baseline.

Each rule is ``{"phrase", "category", "direction"}``:

* ``category``: an assertion value (negated, uncertain, historical, family),
  ``pseudo`` (looks like a trigger but is not: "no change", "not only") or
  ``terminate`` (ends a scope: "but", "however").
* ``direction``: ``forward`` (the trigger precedes its target: "no fever"),
  ``backward`` ("fever was ruled out") or ``both``; pseudo and terminate rules
  use ``both``.

Phrases are matched on the lower-cased tokens of medner's tokenizer.
"""
from typing import Dict, List

NEGATED, UNCERTAIN, HISTORICAL, FAMILY = "negated", "uncertain", "historical", "family"
PSEUDO, TERMINATE = "pseudo", "terminate"
FORWARD, BACKWARD, BOTH = "forward", "backward", "both"


def _rules(category: str, direction: str, phrases: str, key: str = "category") -> List[Dict[str, str]]:
    """One rule per ``|``-separated phrase; ``key`` names what the phrase says ("category", or "status" for drugs)."""
    return [{"phrase": p.strip(), key: category, "direction": direction}
            for p in phrases.split("|") if p.strip()]


DEFAULT_RULES: List[Dict[str, str]] = (
    _rules(NEGATED, FORWARD,
           "no|not|without|denies|denied|deny|denying|no evidence of|no signs of|no sign of|"
           "no symptoms of|no history of|no evidence|absence of|in the absence of|free of|free from|"
           "rules out|ruling out|rule him out|rule her out|ruled him out|ruled her out|r/o for|"
           "ruled out for|neither|nor|never|no further|no new|no more|no longer|no other|"
           "no significant|no obvious|no apparent|no definite|no clinical|no radiographic|"
           "no abnormal|no suspicious|not demonstrate|did not show|did not reveal|does not show|"
           "failed to reveal|failed to show|fails to reveal|unremarkable for|resolution of|"
           "cessation of|discontinuation of|withdrawal of|removal of|exclusion of|ceased|ceased to|"
           "cannot see|not see|no recurrence of|not have|did not have|did not develop|refused|"
           "declined|disappearance of|lack of|lacked|lacks|lacking|there was no|there were no|"
           "there is no|there are no|not associated with|not observed|not found|not detected|"
           "negative for|was negative for|were negative for|is negative for|had ruled out|has ruled out|"
           "have ruled out") +
    _rules(NEGATED, BACKWARD,
           "was ruled out|were ruled out|is ruled out|are ruled out|been ruled out|ruled out|"
           "was excluded|were excluded|is excluded|been excluded|were absent|not seen|was not seen|"
           "were not seen|not found|was not found|were not found|not detected|was not detected|"
           "were not detected|not observed|was not observed|were not observed|was not present|"
           "were not present|not present|not noted|was not noted|were not noted|not evident|"
           "was not evident|were not evident|resolved|had resolved|has resolved|have resolved|"
           "resolved spontaneously|disappeared|had disappeared|was discontinued|were discontinued|"
           "discontinued|was stopped|were stopped|was removed|were removed|completely removed|"
           "was withdrawn|was cancelled|was canceled|were relieved|was relieved|relieved|was held|"
           "were held|was attenuated|ceased|abated") +
    _rules(UNCERTAIN, FORWARD,
           "possible|possibly|probable|probably|likely|suspected|suspect|suspicion of|suspicious for|"
           "suspicious of|concern for|concerning for|question of|questionable|rule out|r/o|to rule out|"
           "to exclude|differential diagnosis|differential diagnoses|differential|may|might|may be|"
           "could be|might be|suggestive of|suggesting|suggested|"
           "suggests|suggest|indicative of|indicating|evaluate for|evaluation for|work-up for|"
           "workup for|at risk of|at risk for|risk of|risk for|prevent|prevention of|prophylaxis|"
           "prophylaxis against|to prevent|impression of|presumed|presumptive|"
           "thought to be|considered|consider|was considered|if|whether|awaiting|cannot be excluded|"
           "can not be excluded|cannot exclude|not excluded|uncertain|unclear|doubtful|"
           "in suspicion of|under the suggestion of|favor|favour|favoured|favored|"
           # The way a clinician writes a working diagnosis (issue 18): "may have pneumonia", "r/o PE".
           "may have|might have|could have|may represent|may reflect|suspects|suspecting|suspicious|"
           "concern of|worrisome for|worry for|rule-out|can't exclude|"
           "cannot rule out|can't rule out|could not exclude|could not rule out|not rule out|"
           "cannot be ruled out|presumably|versus|vs|"
           "recommended|planned|plan for|plan to|about to") +
    _rules(UNCERTAIN, BACKWARD,
           "was suspected|were suspected|is suspected|suspected|was considered|were considered|"
           "is possible|was possible|was likely|is likely|likely|is probable|could not be excluded|"
           "cannot be excluded|can not be ruled out|could not be ruled out|cannot be ruled out|"
           "was not excluded|not excluded|was suggested|were suggested|was planned|was proposed|"
           "was recommended|is recommended|was thought|was favored|was favoured|?|"
           "not ruled out|not been ruled out|has not been ruled out|not yet ruled out|"
           "are suspected|is questioned|questionable|versus|vs|"
           "had been attempted|was attempted|was about to begin|were planned|is planned|"
           "remains possible|are likely") +
    _rules(HISTORICAL, FORWARD,
           "history of|h/o|hx of|past history of|past medical history|medical history of|previous|"
           "previously|prior|prior history of|past|formerly|former|known|known history of|"
           "background of|underwent|had undergone|had been|had a history of|status post|s/p|"
           "diagnosed with|was diagnosed with|had been diagnosed with|chronic|longstanding|"
           "long-standing|years ago|childhood|remote|old") +
    _rules(HISTORICAL, BACKWARD,
           "history|years ago|months ago|in the past|previously|earlier|before admission|prior") +
    _rules(FAMILY, FORWARD,
           "family history|family history of|familial history|mother|father|sister|brother|"
           "sibling|siblings|parents|parent|aunt|uncle|cousin|cousins|grandmother|grandfather|"
           "son|daughter|twin|maternal|paternal|relatives|relative|family member|family members|"
           "kin|proband's|consanguineous|consanguinity|non-consanguineous|nonconsanguineous|"
           "first-degree|children") +
    _rules(FAMILY, BACKWARD,
           "in his mother|in her mother|in his father|in her father|in his sister|in her sister|"
           "in his brother|in her brother|in the family|in family members|in his family|"
           "in her family|in relatives|in siblings") +
    _rules(PSEUDO, BOTH,
           "no change|no significant change|no interval change|no definite change|no increase|"
           "no decrease|no significant increase|no significant decrease|not only|not necessarily|"
           "not certain if|not certain whether|not rule out|not ruled out|not been ruled out|"
           "not excluded|cannot be excluded|without difficulty|without any difficulty|not cause|"
           "not drain|no suspicious change|gram negative|gram-negative|no further change|"
           "not extend|not appear|not appreciate|without delay|no longer than|not clear|"
           "history and physical|history and examination|social history|family history was|"
           "medical history was|history was") +
    _rules(TERMINATE, BOTH,
           "but|however|nevertheless|yet|though|although|still|aside from|except|apart from|"
           "secondary to|as the cause of|as the source of|as the reason of|as the etiology of|"
           "cause of|causes of|source of|etiology of|reason for|which|who|whereas|while|"
           "presenting|presented|presents|complains|complained|reported|reports|revealed|showed|shows|"
           "demonstrated|was found|were found|found|admitted|developed|underwent|after|then|"
           "due to|because|since|and then|with|;|:")
)


# ------------------------------------------------------------------ medication status
# What happened to a drug: a clinician reads "metformin was held" as a fact about the
# drug (it is still the patient's drug), not as "no metformin". Each rule is
# ``{"phrase", "status", "direction"}``; the nearest status phrase in a medication's
# segment wins (medner.assertion.medication). "switched to" starts the drug after it
# and stops the one before it.
STARTED, CONTINUED, HELD, STOPPED, DISCONTINUED, INCREASED, DECREASED = (
    "started", "continued", "held", "stopped", "discontinued", "increased", "decreased")
MEDICATION_STATUSES = (STARTED, CONTINUED, HELD, STOPPED, DISCONTINUED, INCREASED, DECREASED)
# A drug with one of these statuses is not being taken now, but it is not negated either.
ENDED_STATUSES = (HELD, STOPPED, DISCONTINUED)


def _status_rules(status: str, direction: str, phrases: str) -> List[Dict[str, str]]:
    return _rules(status, direction, phrases, key="status")


DEFAULT_STATUS_RULES: List[Dict[str, str]] = (
    _status_rules(STARTED, FORWARD,
                  "start|started|started on|starting|start on|was started on|initiate|initiated|initiated on|"
                  "initiation of|begin|began|begun|commence|commenced|add|added|adding|resume|resumed|"
                  "restart|restarted|reinitiate|reinitiated|switched to|switch to|changed to|converted to|"
                  "discharged on|discharged home on|placed on|put on|trial of|prescribed|loaded with|"
                  "loading dose of|newly started") +
    _status_rules(STARTED, BACKWARD,
                  "was started|were started|was initiated|were initiated|was added|were added|was begun|"
                  "was commenced|was resumed|were resumed|was restarted|was prescribed|were prescribed|"
                  "started|initiated|added|resumed|restarted") +
    _status_rules(CONTINUED, FORWARD,
                  "continue|continued|continues|continuing|continue on|continued on|remain on|remains on|"
                  "remained on|maintained on|maintain on|kept on|keep on|still on|still taking|"
                  "continuation of") +
    _status_rules(CONTINUED, BACKWARD,
                  "was continued|were continued|continued|was maintained|were maintained|unchanged") +
    _status_rules(HELD, FORWARD,
                  "hold|held|holding|withhold|withheld|withholding|pause|paused|suspend|suspended") +
    _status_rules(HELD, BACKWARD,
                  "held|was held|were held|is held|being held|on hold|was withheld|were withheld|withheld|"
                  "was paused|paused|was suspended|suspended|dose held") +
    _status_rules(STOPPED, FORWARD,
                  "stop|stopped|stopping|cease|ceased|cessation of|completed|completed a course of|"
                  "finished|switched from|changed from|off|came off|taken off|tapered off|weaned off|"
                  "ran out of|self-discontinued|quit|stopped taking|no longer taking|no longer on") +
    _status_rules(STOPPED, BACKWARD,
                  "was stopped|were stopped|stopped|was ceased|ceased|was completed|completed|"
                  "was switched to|were switched to|switched to|was changed to|changed to|was tapered off|"
                  "tapered off|was weaned off|weaned off|was weaned|course completed") +
    _status_rules(DISCONTINUED, FORWARD,
                  "discontinue|discontinued|discontinuing|discontinuation of|d/c|d/c'd|dc'd|"
                  "withdraw|withdrew|withdrawal of") +
    _status_rules(DISCONTINUED, BACKWARD,
                  "was discontinued|were discontinued|discontinued|was d/c'd|d/c'd|was withdrawn|"
                  "were withdrawn|withdrawn") +
    _status_rules(INCREASED, FORWARD,
                  "increase|increased|increasing|uptitrate|uptitrated|up-titrate|titrate up|titrated up|"
                  "escalate|escalated|double|doubled|higher dose of|increase in") +
    _status_rules(INCREASED, BACKWARD,
                  "was increased|were increased|increased|was uptitrated|uptitrated|was titrated up|"
                  "was escalated|escalated|was doubled|doubled") +
    _status_rules(DECREASED, FORWARD,
                  "decrease|decreased|decreasing|reduce|reduced|reducing|reduction of|lowered|"
                  "taper|tapered|tapering|wean|weaned|weaning|titrate down|titrated down|lower dose of|"
                  "decrease in|reduction in") +
    _status_rules(DECREASED, BACKWARD,
                  "was decreased|were decreased|decreased|was reduced|were reduced|reduced|was lowered|"
                  "lowered|was tapered|tapered|tapering|being tapered|was titrated down|halved|was halved")
)
