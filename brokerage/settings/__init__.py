"""Settings by mode: base (shared), local (make run, development; the default), test
(the suite), production (the image and compose; refuses unsafe values)."""
