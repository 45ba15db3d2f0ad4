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
DataValidator          data_validator                              rules, required_fields,
                                                                   strict_mode,
                                                                   allow_extra_fields, schema
SchemaValidator        schema_validator                            schema, schema_type,
                                                                   strict_mode, coerce_types,
                                                                   custom_validators
ResultExtractor        result_extractor                            strategy,
                                                                   extractor_priority,
                                                                   extract_*_blocks, ...
=====================  ==========================================  =========================

Every snake_case name also resolves in CamelCase (``DataSource``, ``DataTransformer``...), and
the original Routilux's dotted paths resolve by their last part
(``routilux.builtin_routines.data_processing.DataValidator``).
"""

from __future__ import annotations

from .batching import Aggregator, Batcher, Debouncer
from .extraction import ResultExtractor
from .resilience import RetryHandler
from .routing import ConditionalRouter, Splitter
from .sinks import Collector
from .sources import DataSource
from .transform import Filter, Mapper
from .validation import DataValidator, SchemaValidator

__all__ = [
    "Aggregator",
    "Batcher",
    "Collector",
    "ConditionalRouter",
    "DataSource",
    "DataValidator",
    "Debouncer",
    "Filter",
    "Mapper",
    "ResultExtractor",
    "RetryHandler",
    "SchemaValidator",
    "Splitter",
]
