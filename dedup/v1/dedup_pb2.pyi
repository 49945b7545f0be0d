import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PassageKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PASSAGE_KIND_UNSPECIFIED: _ClassVar[PassageKind]
    PASSAGE_KIND_VERBATIM: _ClassVar[PassageKind]
    PASSAGE_KIND_NEAR_VERBATIM: _ClassVar[PassageKind]
    PASSAGE_KIND_PARAPHRASE: _ClassVar[PassageKind]

class Relation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RELATION_UNSPECIFIED: _ClassVar[Relation]
    RELATION_DUPLICATE: _ClassVar[Relation]
    RELATION_WHOLLY_DERIVED: _ClassVar[Relation]
    RELATION_PARTIALLY_DERIVED: _ClassVar[Relation]
    RELATION_SAME_STORY: _ClassVar[Relation]
    RELATION_COMMON_SOURCE: _ClassVar[Relation]

class IngestOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INGEST_OUTCOME_UNSPECIFIED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_CREATED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_REPLACED: _ClassVar[IngestOutcome]
    INGEST_OUTCOME_UNCHANGED: _ClassVar[IngestOutcome]

class ClusterEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CLUSTER_EVENT_TYPE_UNSPECIFIED: _ClassVar[ClusterEventType]
    CLUSTER_EVENT_TYPE_CREATED: _ClassVar[ClusterEventType]
    CLUSTER_EVENT_TYPE_DOCUMENT_ADDED: _ClassVar[ClusterEventType]
    CLUSTER_EVENT_TYPE_MERGED: _ClassVar[ClusterEventType]
    CLUSTER_EVENT_TYPE_DOCUMENT_REMOVED: _ClassVar[ClusterEventType]
PASSAGE_KIND_UNSPECIFIED: PassageKind
PASSAGE_KIND_VERBATIM: PassageKind
PASSAGE_KIND_NEAR_VERBATIM: PassageKind
PASSAGE_KIND_PARAPHRASE: PassageKind
RELATION_UNSPECIFIED: Relation
RELATION_DUPLICATE: Relation
RELATION_WHOLLY_DERIVED: Relation
RELATION_PARTIALLY_DERIVED: Relation
RELATION_SAME_STORY: Relation
RELATION_COMMON_SOURCE: Relation
INGEST_OUTCOME_UNSPECIFIED: IngestOutcome
INGEST_OUTCOME_CREATED: IngestOutcome
INGEST_OUTCOME_REPLACED: IngestOutcome
INGEST_OUTCOME_UNCHANGED: IngestOutcome
CLUSTER_EVENT_TYPE_UNSPECIFIED: ClusterEventType
CLUSTER_EVENT_TYPE_CREATED: ClusterEventType
CLUSTER_EVENT_TYPE_DOCUMENT_ADDED: ClusterEventType
CLUSTER_EVENT_TYPE_MERGED: ClusterEventType
CLUSTER_EVENT_TYPE_DOCUMENT_REMOVED: ClusterEventType

class Document(_message.Message):
    __slots__ = ("id", "text", "title", "outlet", "url", "published_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    OUTLET_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    PUBLISHED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    text: str
    title: str
    outlet: str
    url: str
    published_at: str
    def __init__(self, id: _Optional[str] = ..., text: _Optional[str] = ..., title: _Optional[str] = ..., outlet: _Optional[str] = ..., url: _Optional[str] = ..., published_at: _Optional[str] = ...) -> None: ...

class Passage(_message.Message):
    __slots__ = ("start", "end", "other_start", "other_end", "kind", "score", "attributed")
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    OTHER_START_FIELD_NUMBER: _ClassVar[int]
    OTHER_END_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTED_FIELD_NUMBER: _ClassVar[int]
    start: int
    end: int
    other_start: int
    other_end: int
    kind: PassageKind
    score: float
    attributed: bool
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ..., other_start: _Optional[int] = ..., other_end: _Optional[int] = ..., kind: _Optional[_Union[PassageKind, str]] = ..., score: _Optional[float] = ..., attributed: _Optional[bool] = ...) -> None: ...

class Match(_message.Message):
    __slots__ = ("document_id", "relation", "coverage", "other_coverage", "lexical", "semantic", "passages")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    RELATION_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    OTHER_COVERAGE_FIELD_NUMBER: _ClassVar[int]
    LEXICAL_FIELD_NUMBER: _ClassVar[int]
    SEMANTIC_FIELD_NUMBER: _ClassVar[int]
    PASSAGES_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    relation: Relation
    coverage: float
    other_coverage: float
    lexical: float
    semantic: float
    passages: _containers.RepeatedCompositeFieldContainer[Passage]
    def __init__(self, document_id: _Optional[str] = ..., relation: _Optional[_Union[Relation, str]] = ..., coverage: _Optional[float] = ..., other_coverage: _Optional[float] = ..., lexical: _Optional[float] = ..., semantic: _Optional[float] = ..., passages: _Optional[_Iterable[_Union[Passage, _Mapping]]] = ...) -> None: ...

class Parent(_message.Message):
    __slots__ = ("document_id", "confidence", "coverage", "evidence", "alternative_ids", "basis", "rules", "cautions")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    COVERAGE_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ALTERNATIVE_IDS_FIELD_NUMBER: _ClassVar[int]
    BASIS_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    CAUTIONS_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    confidence: float
    coverage: float
    evidence: _containers.RepeatedScalarFieldContainer[str]
    alternative_ids: _containers.RepeatedScalarFieldContainer[str]
    basis: str
    rules: _containers.RepeatedScalarFieldContainer[str]
    cautions: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, document_id: _Optional[str] = ..., confidence: _Optional[float] = ..., coverage: _Optional[float] = ..., evidence: _Optional[_Iterable[str]] = ..., alternative_ids: _Optional[_Iterable[str]] = ..., basis: _Optional[str] = ..., rules: _Optional[_Iterable[str]] = ..., cautions: _Optional[_Iterable[str]] = ...) -> None: ...

class DuplicateGroup(_message.Message):
    __slots__ = ("document_ids", "original_ids", "confidence")
    DOCUMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_IDS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    document_ids: _containers.RepeatedScalarFieldContainer[str]
    original_ids: _containers.RepeatedScalarFieldContainer[str]
    confidence: float
    def __init__(self, document_ids: _Optional[_Iterable[str]] = ..., original_ids: _Optional[_Iterable[str]] = ..., confidence: _Optional[float] = ...) -> None: ...

class ExternalSource(_message.Message):
    __slots__ = ("name", "evidence", "start", "end")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    name: str
    evidence: str
    start: int
    end: int
    def __init__(self, name: _Optional[str] = ..., evidence: _Optional[str] = ..., start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Analysis(_message.Message):
    __slots__ = ("document_id", "cluster_id", "parents", "external_sources", "matches", "duplicate_group")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    PARENTS_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_SOURCES_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_GROUP_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    cluster_id: str
    parents: _containers.RepeatedCompositeFieldContainer[Parent]
    external_sources: _containers.RepeatedCompositeFieldContainer[ExternalSource]
    matches: _containers.RepeatedCompositeFieldContainer[Match]
    duplicate_group: DuplicateGroup
    def __init__(self, document_id: _Optional[str] = ..., cluster_id: _Optional[str] = ..., parents: _Optional[_Iterable[_Union[Parent, _Mapping]]] = ..., external_sources: _Optional[_Iterable[_Union[ExternalSource, _Mapping]]] = ..., matches: _Optional[_Iterable[_Union[Match, _Mapping]]] = ..., duplicate_group: _Optional[_Union[DuplicateGroup, _Mapping]] = ...) -> None: ...

class IngestDocumentRequest(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class IngestDocumentResponse(_message.Message):
    __slots__ = ("analysis", "outcome")
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    analysis: Analysis
    outcome: IngestOutcome
    def __init__(self, analysis: _Optional[_Union[Analysis, _Mapping]] = ..., outcome: _Optional[_Union[IngestOutcome, str]] = ...) -> None: ...

class BatchIngestDocumentsRequest(_message.Message):
    __slots__ = ("requests",)
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.RepeatedCompositeFieldContainer[IngestDocumentRequest]
    def __init__(self, requests: _Optional[_Iterable[_Union[IngestDocumentRequest, _Mapping]]] = ...) -> None: ...

class BatchIngestDocumentsResponse(_message.Message):
    __slots__ = ("responses",)
    RESPONSES_FIELD_NUMBER: _ClassVar[int]
    responses: _containers.RepeatedCompositeFieldContainer[IngestDocumentResponse]
    def __init__(self, responses: _Optional[_Iterable[_Union[IngestDocumentResponse, _Mapping]]] = ...) -> None: ...

class StreamIngestDocumentsRequest(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class StreamIngestDocumentsResponse(_message.Message):
    __slots__ = ("analysis", "outcome")
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    analysis: Analysis
    outcome: IngestOutcome
    def __init__(self, analysis: _Optional[_Union[Analysis, _Mapping]] = ..., outcome: _Optional[_Union[IngestOutcome, str]] = ...) -> None: ...

class FindSimilarRequest(_message.Message):
    __slots__ = ("document",)
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    document: Document
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ...) -> None: ...

class FindSimilarResponse(_message.Message):
    __slots__ = ("analysis",)
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    analysis: Analysis
    def __init__(self, analysis: _Optional[_Union[Analysis, _Mapping]] = ...) -> None: ...

class GetDocumentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetDocumentResponse(_message.Message):
    __slots__ = ("document", "analysis", "ingest_time")
    DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_FIELD_NUMBER: _ClassVar[int]
    INGEST_TIME_FIELD_NUMBER: _ClassVar[int]
    document: Document
    analysis: Analysis
    ingest_time: _timestamp_pb2.Timestamp
    def __init__(self, document: _Optional[_Union[Document, _Mapping]] = ..., analysis: _Optional[_Union[Analysis, _Mapping]] = ..., ingest_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DeleteDocumentRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteDocumentResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetClusterRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetClusterResponse(_message.Message):
    __slots__ = ("cluster",)
    CLUSTER_FIELD_NUMBER: _ClassVar[int]
    cluster: Cluster
    def __init__(self, cluster: _Optional[_Union[Cluster, _Mapping]] = ...) -> None: ...

class Edge(_message.Message):
    __slots__ = ("parent_id", "child_id", "confidence")
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    CHILD_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    parent_id: str
    child_id: str
    confidence: float
    def __init__(self, parent_id: _Optional[str] = ..., child_id: _Optional[str] = ..., confidence: _Optional[float] = ...) -> None: ...

class Cluster(_message.Message):
    __slots__ = ("id", "document_ids", "root_ids", "edges", "create_time", "update_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_IDS_FIELD_NUMBER: _ClassVar[int]
    ROOT_IDS_FIELD_NUMBER: _ClassVar[int]
    EDGES_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    document_ids: _containers.RepeatedScalarFieldContainer[str]
    root_ids: _containers.RepeatedScalarFieldContainer[str]
    edges: _containers.RepeatedCompositeFieldContainer[Edge]
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., document_ids: _Optional[_Iterable[str]] = ..., root_ids: _Optional[_Iterable[str]] = ..., edges: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListClustersRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "start_time", "end_time")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListClustersResponse(_message.Message):
    __slots__ = ("clusters", "next_page_token")
    CLUSTERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    clusters: _containers.RepeatedCompositeFieldContainer[Cluster]
    next_page_token: str
    def __init__(self, clusters: _Optional[_Iterable[_Union[Cluster, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetLineageRequest(_message.Message):
    __slots__ = ("id", "max_depth")
    ID_FIELD_NUMBER: _ClassVar[int]
    MAX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    id: str
    max_depth: int
    def __init__(self, id: _Optional[str] = ..., max_depth: _Optional[int] = ...) -> None: ...

class GetLineageResponse(_message.Message):
    __slots__ = ("document_id", "ancestors", "descendants")
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ANCESTORS_FIELD_NUMBER: _ClassVar[int]
    DESCENDANTS_FIELD_NUMBER: _ClassVar[int]
    document_id: str
    ancestors: _containers.RepeatedCompositeFieldContainer[Edge]
    descendants: _containers.RepeatedCompositeFieldContainer[Edge]
    def __init__(self, document_id: _Optional[str] = ..., ancestors: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ..., descendants: _Optional[_Iterable[_Union[Edge, _Mapping]]] = ...) -> None: ...

class GetStoreRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStoreResponse(_message.Message):
    __slots__ = ("id", "document_count")
    ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    id: str
    document_count: int
    def __init__(self, id: _Optional[str] = ..., document_count: _Optional[int] = ...) -> None: ...

class WatchClustersRequest(_message.Message):
    __slots__ = ("after_sequence",)
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    def __init__(self, after_sequence: _Optional[int] = ...) -> None: ...

class WatchClustersResponse(_message.Message):
    __slots__ = ("sequence", "type", "cluster_id", "document_id", "merged_cluster_ids", "event_time")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CLUSTER_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    MERGED_CLUSTER_IDS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: ClusterEventType
    cluster_id: str
    document_id: str
    merged_cluster_ids: _containers.RepeatedScalarFieldContainer[str]
    event_time: _timestamp_pb2.Timestamp
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[ClusterEventType, str]] = ..., cluster_id: _Optional[str] = ..., document_id: _Optional[str] = ..., merged_cluster_ids: _Optional[_Iterable[str]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
