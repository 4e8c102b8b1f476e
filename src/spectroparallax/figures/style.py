"""Which style a figure is drawn with: config.yaml ``figures.<figure>`` (the project's) or its
``paper:`` block (the paper's plotting scripts), as ``switches.figures`` says.

Imported by workflow/rules/figures.smk when the DAG is built, so it imports nothing heavy.
"""


def pick(section: dict, switch: str) -> dict:
    """The style of one figure: ``section["paper"]`` when ``switch`` is 'paper', else ``section``
    without its ``paper`` block (so the style not picked never reaches the rule)."""
    if switch == "paper":
        return section["paper"]
    return {key: value for key, value in section.items() if key != "paper"}
