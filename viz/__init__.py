"""The live page: a Solara app (Mesa's SolaraViz) that runs one simulation round by round."""
