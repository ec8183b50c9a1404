"""Pricing simulation, the account manager's workbench (docs/simulation.md): measured months,
or a prospect's generated ones, priced under other terms. Measure once, price many.

The edge (``service``) reads the alternative contract files, the costs file (``costs_file``)
and a prospect's profile (``profile``), measures a contract's months once per resolution rule,
leaves out months that have not ended or hold no data (``ranges``), and explains each issued
invoice against the simulated current terms (``invoices``). The pure core: ``replay`` rates and
costs (``costs``) one scenario, ``break_even`` finds prices, FTE rates and volumes,
``sensitivity`` moves the outcomes one way at a time, ``curves`` draws revenue against volume,
``generator`` makes a prospect's months from a seed, ``prospect`` and ``run`` put a simulation
together, ``results`` holds the values and ``serialize`` their JSON; ``report`` (with
``report_sweep`` and ``charts``) renders the HTML in the reader's language. Every scenario is
pure re-rating with ``billing.rating.engine.rate``. Owns no table.

A scenario is the terms in force for each period: the contract's own versions for the
``current`` scenario (amendments included, so it equals what the rating service gives), one
alternative file's terms for every period otherwise.
"""
