"""Server reflection in both versions of its protocol: ``grpc.reflection.v1`` (what current tools
ask for first, ``buf curl --reflect-protocol grpc-v1``) and ``grpc.reflection.v1alpha``.

grpcio-reflection implements v1alpha only. v1 is the same protocol under another package name (the
messages have the same fields and numbers), so one servicer answers both: the v1 method reads and
writes its messages with the v1alpha classes, and v1's file descriptor, made from v1alpha's with the
package renamed, is added to the default pool so that reflection can describe itself in either."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection, reflection_pb2

__all__ = ["V1_SERVICE_NAME", "enable_reflection"]

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
_V1_FILE = "grpc/reflection/v1/reflection.proto"


def _register_v1_descriptor() -> None:
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(_V1_FILE)
        return  # added already (or by a library that ships v1)
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old = proto.package
    proto.name, proto.package = _V1_FILE, "grpc.reflection.v1"
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(f".{old}.", ".grpc.reflection.v1.")
            method.output_type = method.output_type.replace(f".{old}.", ".grpc.reflection.v1.")
    for message in proto.message_type:
        for f in message.field:
            if f.type_name.startswith(f".{old}."):
                f.type_name = f.type_name.replace(f".{old}.", ".grpc.reflection.v1.", 1)
    pool.Add(proto)


def enable_reflection(service_names: Iterable[str], server: grpc.Server) -> None:
    """Serve reflection v1 and v1alpha for ``service_names`` (and for reflection itself)."""
    _register_v1_descriptor()
    names = (*service_names, V1_SERVICE_NAME, reflection.SERVICE_NAME)
    servicer = reflection.ReflectionServicer(names)
    reflection.enable_server_reflection(names, server)  # v1alpha
    handler = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
