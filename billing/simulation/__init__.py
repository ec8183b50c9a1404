"""Pricing simulation: replay measured months under other terms. Measure once, price many.

The service (``service``) measures each month once per resolution rule and hands the
outcomes to the pure core: ``replay`` rates one scenario, ``break_even`` finds the prices at
which an alternative earns what the current terms earned, ``sensitivity`` scales the
outcomes, ``run`` puts a whole simulation together, ``results`` holds the values and their
JSON, ``report`` renders the HTML. Every scenario is pure re-rating with
``billing.rating.engine.rate``. Owns no table.

A scenario is the terms in force for each period: the contract's own versions for the
``current`` scenario (amendments included, so it equals what the rating service gives), one
alternative file's terms for every period otherwise.
"""
