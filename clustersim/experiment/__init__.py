"""The experiment machinery: seeds, the evaluation of runs, executors (local pool, Dask), designs, experiment
files, the crash-safe run store and sweeps over it. It knows the model only through an evaluation function.
"""
