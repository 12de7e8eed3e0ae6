"""Analysis of run folders: the papers' statistics, figures and a one-file report.

``load`` finds and reads run folders, ``stats`` computes (statsmodels), ``figures`` draws
(matplotlib/seaborn), ``report`` writes HTML and Markdown; ``report_cli`` is
``commons-lab analyze``.
"""
