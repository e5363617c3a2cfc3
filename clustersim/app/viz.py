"""The browser page: watch a scenario unfold, step by step, in Mesa's SolaraViz (``clustersim viz``).

The page shows the firm network (nodes coloured by cluster, sized by employment, supplier–customer and
peer links drawn differently), each active cluster's size and orientation mix, and live charts of the
three indicator families (competitiveness, durability, regional leverage); the sidebar has Mesa's Step,
Play and Reset buttons and controls for the main behavioural and policy parameters. A control takes
effect at Reset, which rebuilds the model with the new values.

Every browser session builds its own model (:func:`Page` creates it per session), so two visitors never
step each other's model. The page runs offline (Solara's assets come from the ``solara-assets`` package)
and ``clustersim viz`` binds it to 127.0.0.1 unless told otherwise.

Serve it with ``clustersim viz [SCENARIO] [--port P]``, or in a notebook display ``make_page(path)``.
Requires the optional extra: ``pip install 'clustersim[viz]'``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from clustersim.experiment.seeds import replication_seed
from clustersim.model.model import ClusterModel
from clustersim.model.tables import cluster_table, network_snapshot
from clustersim.plots.live import LiveClusters, LiveIndicators, LiveNetwork, NetworkLayout
from clustersim.scenario.io import load_scenario, scenario_from_dict, scenario_to_dict
from clustersim.scenario.schema import FUNDER_NAMES

__all__ = ["SCENARIO_ENV", "CONTROLS", "ExploreModel", "model_params", "make_page", "default_scenario",
           "scenario_choices", "resolve_choice"]

#: environment variable through which ``clustersim viz`` tells the page which scenario file to open
SCENARIO_ENV = "CLUSTERSIM_VIZ_SCENARIO"

#: the page's behavioural controls: scenario parameter path -> (label, kind, min, max, step). Their values
#: replace the chosen scenario's at Reset. The policy controls are the choice of scenario (the shipped
#: policy scenarios among them) and the public budget scale, which multiplies every funder's yearly budget.
CONTROLS: dict[str, tuple[str, str, float, float, float]] = {
    "simulation.n_firms": ("Firms in the region", "SliderInt", 40, 600, 10),
    "firms.cooperativeness_mean": ("Mean cooperativeness of firms", "SliderFloat", 0.0, 1.0, 0.05),
    "trust.gain_rate": ("Trust gain after cooperation", "SliderFloat", 0.0, 0.3, 0.01),
    "trust.loss_rate": ("Trust loss after free-riding", "SliderFloat", 0.0, 0.8, 0.02),
    "learning.information_noise": ("Information noise", "SliderFloat", 0.0, 1.0, 0.05),
    "clusters.membership_fee": ("Membership fee (k€/quarter)", "SliderFloat", 0.0, 6.0, 0.25),
    "competition.leakage_rate": ("Knowledge leakage to rivals", "SliderFloat", 0.0, 1.0, 0.05),
}


CONFIGS = Path(__file__).resolve().parents[2] / "configs"  # the checkout's configs/


def scenario_choices(current: str | os.PathLike) -> list[str]:
    """The scenarios the page offers: the shipped ``configs/*.yaml`` (by file name) and ``current``."""
    names = sorted(p.name for p in CONFIGS.glob("*.yaml")) if CONFIGS.is_dir() else []
    cur = _choice(current)
    return names if cur in names else [cur, *names]


def _choice(path: str | os.PathLike) -> str:
    """How the page names a scenario file: its file name when it is one of the shipped configs."""
    p = Path(path)
    return p.name if p.parent.resolve() == CONFIGS and p.suffix == ".yaml" else str(p)


def resolve_choice(choice: str | os.PathLike) -> Path:
    """The file a page choice names (a bare shipped file name resolves to ``configs/``)."""
    p = Path(choice)
    return CONFIGS / p if p.parent == Path(".") and (CONFIGS / p).is_file() and not p.is_file() else p


def default_scenario() -> Path:
    """The scenario the page opens: ``$CLUSTERSIM_VIZ_SCENARIO``, else the baseline next to the package."""
    env = os.environ.get(SCENARIO_ENV)
    if env:
        return Path(env)
    return CONFIGS / "baseline.yaml"


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class ExploreModel(ClusterModel):
    """A :class:`ClusterModel` built from keyword arguments, as Mesa's page rebuilds models at Reset.

    Args:
        scenario_file: the scenario file (YAML or TOML).
        replication: replication index; the seed is ``replication_seed(scenario seed, replication)``, as for
            replication ``replication`` of ``clustersim run`` (the same quarters, step for step).
        budget_scale: multiplies every funder's ``budget_per_year`` (public policy scenarios).
        **params: dotted scenario parameters (``"trust.gain_rate": 0.1``) replacing the file's values.
            A ``scenario`` keyword (the Mesa scenario object the page passes at Reset) is ignored: the
            clustersim scenario comes from the file and the parameters.
    """

    def __init__(self, scenario_file: str | os.PathLike | None = None, replication: int = 0,
                 budget_scale: float = 1.0, **params: Any) -> None:
        params.pop("scenario", None)
        path = resolve_choice(scenario_file) if scenario_file else default_scenario()
        overrides = [f"{k}={_plain(v)!r}" if isinstance(_plain(v), str) else f"{k}={_plain(v)}"
                     for k, v in params.items()]
        scenario = load_scenario(path, overrides)
        if budget_scale != 1.0:
            data = scenario_to_dict(scenario)
            for f in FUNDER_NAMES:
                data["policy"]["funders"][f]["budget_per_year"] *= float(budget_scale)
            scenario = scenario_from_dict(data, source=f"{path} (budgets × {budget_scale})")
        super().__init__(scenario, rng=replication_seed(scenario.simulation.seed, int(replication)))
        self.scenario_file = str(path)
        self.replication = int(replication)
        self.layout = NetworkLayout(seed=int(replication))
        self._figures: tuple[LiveNetwork, LiveClusters, LiveIndicators] | None = None

    @property
    def figures(self) -> tuple[LiveNetwork, LiveClusters, LiveIndicators]:
        """The page's three figures of this model, built at first use and updated in place at every step."""
        if self._figures is None:
            self._figures = (LiveNetwork(), LiveClusters(), LiveIndicators())
        return self._figures


def model_params(scenario_file: str | os.PathLike) -> dict[str, Any]:
    """Mesa ``model_params`` for the page: a choice of scenario (the shipped ones and ``scenario_file``),
    the replication, the public budget scale and one slider per :data:`CONTROLS` entry, starting at
    ``scenario_file``'s value. Slider values replace the chosen scenario's at Reset."""
    scenario = load_scenario(scenario_file)
    data = scenario_to_dict(scenario)
    out: dict[str, Any] = {
        "scenario_file": {"type": "Select", "label": "Scenario", "value": _choice(scenario_file),
                          "values": scenario_choices(scenario_file)},
        "replication": {"type": "SliderInt", "label": "Replication (seed)", "value": 0, "min": 0, "max": 50,
                        "step": 1},
        "budget_scale": {"type": "SliderFloat", "label": "Public budgets × (policy scenarios)", "value": 1.0,
                         "min": 0.0, "max": 3.0, "step": 0.1},
    }
    for path, (label, kind, lo, hi, step) in CONTROLS.items():
        section, name = path.split(".")
        value = data[section][name]
        value = int(value) if kind == "SliderInt" else float(value)
        out[path] = {"type": kind, "label": label, "value": min(max(value, lo), hi), "min": lo, "max": hi,
                     "step": step}
    return out


# ------------------------------------------------------------------------------------------ components
def _image(fig, fmt: str):
    """A figure as an image widget. Charts go as SVG with text left as text (the browser draws the glyphs:
    a third faster than rasterising them here); the network, with hundreds of markers, as PNG."""
    import io

    import matplotlib
    import reacton.ipywidgets as w

    buf = io.BytesIO()
    if fmt == "svg":
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            fig.savefig(buf, format=fmt, dpi=80)
    else:  # fast compression: the picture is a few tens of kB either way and travels on the local machine
        fig.savefig(buf, format=fmt, dpi=80, pil_kwargs={"compress_level": 1})
    return w.Image(value=buf.getvalue(), format="svg+xml" if fmt == "svg" else fmt)


# The three figures belong to the model (ExploreModel.figures) and are updated in place at every step: a
# redraw then costs about half of building new figures (and far fewer of matplotlib's rcParams look-ups,
# which Solara's server makes per-session and slower).
def _network(model: ExploreModel):
    snap = network_snapshot(model)
    pos = model.layout.update(snap["nodes"], snap["edges"])
    return _image(model.figures[0].update(snap["nodes"], snap["edges"], pos, title=f"Quarter {model.now}: "), "png")


def _clusters(model: ExploreModel):
    return _image(model.figures[1].update(cluster_table(model)), "svg")


def _indicators(model: ExploreModel):
    return _image(model.figures[2].update(model.timeseries()), "svg")


def _settings(model: ExploreModel):
    """The values this model was built with (the sliders show no numbers): scenario, seed and controls.
    Plain text (Solara's Markdown would fetch KaTeX from a CDN, and the page must work offline)."""
    import solara

    p = scenario_to_dict(model.p)
    rows = [f"{Path(model.scenario_file).name}, replication {model.replication} "
            f"(seed {model.p.simulation.seed}), quarter {model.now} of {model.p.simulation.steps}"]
    for path, (label, *_rest) in CONTROLS.items():
        section, name = path.split(".")
        rows.append(f"{label}: {p[section][name]}")
    if model.p.policy.active:
        budgets = sum(p["policy"]["funders"][f]["budget_per_year"] for f in FUNDER_NAMES)
        rows.append(f"Public budgets: {budgets:,.0f} k€/year")
    with solara.Column(gap="2px", style={"padding": "12px"}) as column:
        for row in rows:
            solara.Text(row)
    return column


def components() -> list[tuple[Any, int]]:
    """The page's panels (all on one page): network, clusters, indicator families, the model's settings."""
    return [(_network, 0), (_clusters, 0), (_indicators, 0), (_settings, 0)]


def _viz(model: ExploreModel, params: dict[str, Any], path: Path):
    from mesa.visualization import SolaraViz

    return SolaraViz(model, components=components(), model_params=params, name=f"clustersim — {path.name}",
                     play_interval=150)


def make_page(scenario_file: str | os.PathLike | None = None):
    """The SolaraViz element for one scenario file, with a fresh model (display it in a notebook)."""
    path = Path(scenario_file) if scenario_file else default_scenario()
    return _viz(ExploreModel(scenario_file=str(path)), model_params(path), path)


def _page():
    import solara

    @solara.component
    def Page():
        """One model per browser session: built when the session's page is first rendered."""
        path = default_scenario()
        params = solara.use_memo(lambda: model_params(path), [])
        model = solara.use_memo(lambda: ExploreModel(scenario_file=str(path)), [])
        return _viz(model, params, path)

    return Page


def __getattr__(name: str):  # Page is built lazily: importing clustersim.app.viz must not require solara
    if name == "Page":
        return _page()
    raise AttributeError(name)
