"""The mechanisms of a quarter, one module per part of the schedule (docs/ODD.md, section 3 and 7).

Each is a function of the model's state (its tables and pair stores), its scenario parameters and its
generator, called by :meth:`clustersim.model.model.ClusterModel.step` in this order: :mod:`.market`
(environment, market), :mod:`.actions` (collective actions and accounts), :mod:`.knowledge`,
:mod:`.membership` (leave, join), :mod:`.formation`, :mod:`.lifecycle`, :mod:`.demography`, :mod:`.links`.
:mod:`.decisions` holds the firms' estimates those decisions read, :mod:`.population` the constructor of
new firms.
"""
