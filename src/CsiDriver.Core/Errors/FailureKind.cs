namespace CsiDriver.Core.Errors;

/// <summary>
/// Why a domain operation failed. The gRPC surface maps each kind to exactly one status code,
/// so backends never depend on gRPC types.
/// </summary>
public enum FailureKind
{
    Internal,
    InvalidArgument,
    NotFound,
    AlreadyExists,
    OutOfRange,
    FailedPrecondition,
    ResourceExhausted,
    /// <summary>Another operation on the same object is in flight, or a pagination token is stale.</summary>
    Aborted,
    /// <summary>A transient failure: the caller should retry (throttling after retries, backend unreachable).</summary>
    Unavailable,
    PermissionDenied,
    Unauthenticated,
    Unimplemented,
    DeadlineExceeded,
}
