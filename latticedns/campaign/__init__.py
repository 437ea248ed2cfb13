"""Campaigns: sweeps of a run file over dotted keys and seeds into one crash-safe store.

Examples
--------
>>> from latticedns.campaign import load_campaign, run_campaign, open_store  # doctest: +SKIP
>>> summary = run_campaign(load_campaign("runs/concentration-sweep.toml"), "sweep.h5")  # doctest: +SKIP
>>> store = open_store("sweep.h5")  # doctest: +SKIP
>>> store.array("visible", {"sample.radical_mM": 10}).shape  # doctest: +SKIP
(3, 1042)
>>> t_s, visible = store.curves("radical_mM")[10]  # doctest: +SKIP

``run_campaign(..., scheduler="tcp://host:8786")`` (or a ``distributed.Client`` or
cluster object) runs the tasks on a dask.distributed cluster
(:mod:`latticedns.campaign.executors`; optional extra ``latticedns[distributed]``).
"""

from .runner import CampaignSummary, plan_campaign, run_campaign
from .spec import CampaignSpec, CampaignTask, load_campaign, parse_campaign
from .store import CampaignStore, is_campaign_store, open_store

__all__ = ["CampaignSpec", "CampaignTask", "CampaignSummary", "CampaignStore", "load_campaign",
           "parse_campaign", "plan_campaign", "run_campaign", "open_store", "is_campaign_store"]
