"""One Ray instance for every test that needs Ray (started on first use, stopped at the end)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import ray


@pytest.fixture(scope="session")
def ray_instance() -> Iterator[None]:
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace="arbcast-tests",
        logging_level="WARNING",
        log_to_driver=False,
    )
    yield
    ray.shutdown()
