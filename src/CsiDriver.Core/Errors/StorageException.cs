namespace CsiDriver.Core.Errors;

/// <summary>A failure with a kind the CSI surface turns into a status code and a message a user can act on.</summary>
public sealed class StorageException : Exception
{
    public StorageException(FailureKind kind, string message, Exception? inner = null)
        : base(message, inner) => Kind = kind;

    public FailureKind Kind { get; }

    public static StorageException InvalidArgument(string message) => new(FailureKind.InvalidArgument, message);
    public static StorageException NotFound(string message) => new(FailureKind.NotFound, message);
    public static StorageException AlreadyExists(string message) => new(FailureKind.AlreadyExists, message);
    public static StorageException OutOfRange(string message, Exception? inner = null) => new(FailureKind.OutOfRange, message, inner);
    public static StorageException FailedPrecondition(string message) => new(FailureKind.FailedPrecondition, message);
    public static StorageException ResourceExhausted(string message) => new(FailureKind.ResourceExhausted, message);
    public static StorageException Aborted(string message) => new(FailureKind.Aborted, message);
    public static StorageException DeadlineExceeded(string message) => new(FailureKind.DeadlineExceeded, message);
    public static StorageException Unavailable(string message, Exception? inner = null) => new(FailureKind.Unavailable, message, inner);
    public static StorageException PermissionDenied(string message) => new(FailureKind.PermissionDenied, message);
    public static StorageException Internal(string message, Exception? inner = null) => new(FailureKind.Internal, message, inner);
    public static StorageException Unimplemented(string message) => new(FailureKind.Unimplemented, message);
}
