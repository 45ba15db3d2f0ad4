"""Built-in routines, registered in :data:`routilux_nb.core.registry` so that a flow written
in the DSL alone (``class: data_source``, ``class: Filter``...) runs.

=====================  ==========================================  =========================
class                  registered as                               config
=====================  ==========================================  =========================
DataSource             data_source                                 items
Mapper                 mapper, data_transformer, transformer       fn, transformation,
                                                                   field, set, rename
Filter                 filter, data_filter                         condition
ConditionalRouter      conditional_router, router                  routes, mode
Splitter               splitter                                    field
Batcher                batcher                                     batch_size, timeout
Aggregator             aggregator                                  field, expected
Debouncer              debouncer                                   interval
RetryHandler           retry_handler                               fn, max_retries,
                                                                   retry_delay, backoff
Collector              collector, sink, data_sink                  key
=====================  ==========================================  =========================

Every snake_case name also resolves in CamelCase (``DataSource``, ``DataTransformer``...).
"""

from __future__ import annotations

from .batching import Aggregator, Batcher, Debouncer
from .resilience import RetryHandler
from .routing import ConditionalRouter, Splitter
from .sinks import Collector
from .sources import DataSource
from .transform import Filter, Mapper

__all__ = [
    "Aggregator",
    "Batcher",
    "Collector",
    "ConditionalRouter",
    "DataSource",
    "Debouncer",
    "Filter",
    "Mapper",
    "RetryHandler",
    "Splitter",
]
