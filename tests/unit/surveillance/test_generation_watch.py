"""GenerationWatch answers the store's committed generation, also after each commit."""

from korona.surveillance.store import SurveillanceStore
from korona.surveillance.store.commits import GenerationWatch


def test_the_watch_follows_every_commit(tmp_path) -> None:
    store = SurveillanceStore(tmp_path)
    watch = GenerationWatch(store)
    assert watch() == store.generation  # no manifest yet
    for _ in range(3):
        with store.transaction():  # an empty commit still replaces the manifest
            pass
        assert watch() == store.generation
    assert watch() == watch() == 3
