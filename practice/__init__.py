"""Practice mode: questions drawn from the indexed notes, answers graded against them, reviews scheduled.

    questions.py  the question sections of an index, each with a stable key
    grade.py      key points of a note answer and how much of them a candidate's answer covers
    schedule.py   FSRS review scheduling (the only fsrs importer)
    cards.py      SQLite store of cards and review logs under $IQA_HOME
    feedback.py   the feedback paragraph: the local model citing the note, or the missed points quoted
    service.py    what the CLI session and the Practice tab share
    session.py    the terminal loop of `iqa practice`
    stats.py      due / reviewed / average score by topic, and a PNG of scores over time
    anki.py       `iqa export anki`: an Anki package (the only genanki importer)
"""
