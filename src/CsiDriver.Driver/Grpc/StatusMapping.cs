using CsiDriver.Core.Errors;
using Grpc.Core;

namespace CsiDriver.Driver.Grpc;

/// <summary>The one place domain failure kinds become gRPC status codes.</summary>
public static class StatusMapping
{
    public static StatusCode ToStatusCode(FailureKind kind) => kind switch
    {
        FailureKind.InvalidArgument => StatusCode.InvalidArgument,
        FailureKind.NotFound => StatusCode.NotFound,
        FailureKind.AlreadyExists => StatusCode.AlreadyExists,
        FailureKind.OutOfRange => StatusCode.OutOfRange,
        FailureKind.FailedPrecondition => StatusCode.FailedPrecondition,
        FailureKind.ResourceExhausted => StatusCode.ResourceExhausted,
        FailureKind.Aborted => StatusCode.Aborted,
        FailureKind.Unavailable => StatusCode.Unavailable,
        FailureKind.PermissionDenied => StatusCode.PermissionDenied,
        FailureKind.Unauthenticated => StatusCode.Unauthenticated,
        FailureKind.Unimplemented => StatusCode.Unimplemented,
        FailureKind.DeadlineExceeded => StatusCode.DeadlineExceeded,
        _ => StatusCode.Internal,
    };

    /// <summary>
    /// The longest status message sent. Messages cut request input already (InputEcho); this is the backstop for
    /// one that echoes several inputs or an unbounded text from elsewhere, so the grpc-message header always
    /// fits the client's header limit and the answer keeps its code.
    /// </summary>
    public const int MaxDetailChars = 1024;

    public static RpcException ToRpcException(StorageException ex) => new(new Status(ToStatusCode(ex.Kind), Bounded(ex.Message)));

    /// <summary>The message, cut to <see cref="MaxDetailChars"/>.</summary>
    public static string Bounded(string detail) =>
        detail.Length <= MaxDetailChars ? detail : detail[..MaxDetailChars] + $"…({detail.Length} chars)";

    /// <summary>Shorthand for INVALID_ARGUMENT with a message naming what was wrong.</summary>
    public static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
