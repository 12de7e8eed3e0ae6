"""Human villagers: a person takes a villager's turns beside rule-based and LLM villagers.

``desk`` holds the turns waiting for a person (what is shown, the form's bounded fields) and
takes their answers; the terminal and the page are two front-ends of it. ``forms`` turns an
answer schema's bounds into form fields. ``answers`` asks the desk, applies the time limit's
fallback, and records every answer in the call log (kind ``human``) so a run replays and resumes
without asking again.
"""
