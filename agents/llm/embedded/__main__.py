"""``python -m agents.llm.embedded --port 11434``: the embedded server in the foreground."""

import sys

from agents.llm.embedded.command import standalone

sys.exit(standalone())
