using System.Net;
using Amazon.Runtime;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Ec2;

/// <summary>
/// The one place that turns EC2 errors into CSI failure kinds. Callers that must treat a specific EC2 code
/// differently (a delete of something already gone is success) look at <see cref="CodeOf"/> on the result.
/// </summary>
public static class Ec2ErrorMapper
{
    /// <summary>Codes EC2 (and the SDK) use when a caller exceeds its request rate.</summary>
    private static readonly HashSet<string> ThrottlingCodes = new(StringComparer.Ordinal)
    {
        "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled",
        "RequestThrottledException", "TooManyRequestsException", "SlowDown", "EC2ThrottledException",
    };

    private static readonly HashSet<string> ServerCodes = new(StringComparer.Ordinal)
    {
        "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "RequestTimeout", "RequestExpired",
    };

    private static readonly HashSet<string> PermissionCodes = new(StringComparer.Ordinal)
    {
        "UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "OptInRequired", "Blocked",
        "UnauthorizedAccess", "PendingVerification",
    };

    private static readonly HashSet<string> CredentialCodes = new(StringComparer.Ordinal)
    {
        "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException",
        "IncompleteSignature", "MissingAuthenticationToken",
    };

    private static readonly HashSet<string> ExhaustedCodes = new(StringComparer.Ordinal)
    {
        "VolumeLimitExceeded", "AttachmentLimitExceeded", "SnapshotLimitExceeded", "MaxIOPSLimitExceeded",
        "InsufficientVolumeCapacity", "ResourceLimitExceeded", "VolumeIOPSLimit", "InsufficientCapacity",
    };

    /// <summary>Bad input that EC2 caught before we did (an unknown KMS key, an unknown zone).</summary>
    private static readonly HashSet<string> InvalidCodes = new(StringComparer.Ordinal)
    {
        "InvalidParameterValue", "InvalidParameterCombination", "InvalidParameter", "MissingParameter",
        "UnknownParameter", "InvalidZone.NotFound", "InvalidKMSKey.Id", "KMSKeyNotAccessible",
        "InvalidKmsKey", "InvalidOutpostArn", "ValidationError",
    };

    private static readonly HashSet<string> PreconditionCodes = new(StringComparer.Ordinal)
    {
        "VolumeInUse", "InvalidSnapshot.InUse", "IncorrectState", "IncorrectInstanceState",
        "InvalidVolume.ZoneMismatch", "InvalidAttachment.NotFound", "UnsupportedOperation",
    };

    public static bool IsThrottling(string? code) => code is not null && ThrottlingCodes.Contains(code);

    /// <summary>EC2's code for a "no such thing" answer on volumes, snapshots, instances and modifications.</summary>
    public static bool IsNotFoundCode(string? code) =>
        code is not null && code != "InvalidZone.NotFound" && code != "InvalidAttachment.NotFound"
        && (code.EndsWith(".NotFound", StringComparison.Ordinal) || code.EndsWith(".Malformed", StringComparison.Ordinal));

    /// <summary>The EC2 error code behind a mapped failure, or null when it did not come from EC2.</summary>
    public static string? CodeOf(StorageException exception) => (exception.InnerException as AmazonServiceException)?.ErrorCode;

    /// <summary>Maps a failed EC2 call of the given action (e.g. "AttachVolume") to a StorageException.</summary>
    public static StorageException Map(string action, Exception exception)
    {
        if (ServiceError(exception) is { } service)
        {
            return MapService(action, service);
        }
        if (exception.Message.Contains("capacity could not be obtained", StringComparison.OrdinalIgnoreCase))
        {
            // The SDK gave up on its own: its retry quota was spent on throttled calls. EC2 did answer.
            return new StorageException(FailureKind.Unavailable,
                $"EC2 {action} is throttled: the SDK's retry capacity is used up after repeated throttling; retry later ({exception.Message})", exception);
        }
        // No answer from EC2 (DNS, connection refused, timeout): transient from the CO's point of view.
        return new StorageException(FailureKind.Unavailable, $"EC2 {action} could not reach the EC2 endpoint: {exception.Message}", exception);
    }

    /// <summary>
    /// The EC2 error behind an exception. The SDK's retry layer wraps the last EC2 error in an
    /// AmazonClientException when it runs out of retry capacity (sustained throttling), so look inside.
    /// </summary>
    public static AmazonServiceException? ServiceError(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is AmazonServiceException service)
            {
                return service;
            }
        }
        return null;
    }

    private static StorageException MapService(string action, AmazonServiceException ex)
    {
        var code = ex.ErrorCode ?? string.Empty;
        var detail = string.IsNullOrEmpty(ex.Message) ? code : $"{code}: {ex.Message}";
        if (IsThrottling(code))
        {
            return new StorageException(FailureKind.Unavailable,
                $"EC2 {action} is throttled by the API rate limit even after retries; retry later ({detail})", ex);
        }
        if (IsModificationCooldown(code, ex.Message))
        {
            return new StorageException(FailureKind.Unavailable,
                $"EC2 {action}: the volume is still being modified or in the modification cooldown (EC2 allows one " +
                $"modification per volume at a time and waits between modifications); the request will be retried ({detail})", ex);
        }
        if (PermissionCodes.Contains(code))
        {
            return new StorageException(FailureKind.PermissionDenied,
                $"the driver's AWS identity is not allowed to call ec2:{action}; grant it in the IAM policy ({detail})", ex);
        }
        if (CredentialCodes.Contains(code))
        {
            return new StorageException(FailureKind.PermissionDenied,
                $"EC2 rejected the driver's AWS credentials for ec2:{action} ({detail})", ex);
        }
        if (ExhaustedCodes.Contains(code))
        {
            return new StorageException(FailureKind.ResourceExhausted, $"EC2 {action}: limit reached ({detail})", ex);
        }
        if (InvalidCodes.Contains(code) || code.StartsWith("InvalidKMSKey", StringComparison.Ordinal))
        {
            return new StorageException(FailureKind.InvalidArgument, $"EC2 {action} refused the request ({detail})", ex);
        }
        if (PreconditionCodes.Contains(code))
        {
            return new StorageException(FailureKind.FailedPrecondition, $"EC2 {action}: {detail}", ex);
        }
        if (code == "IdempotentParameterMismatch")
        {
            return new StorageException(FailureKind.AlreadyExists,
                $"EC2 {action}: a request with the same name but different parameters was already made ({detail})", ex);
        }
        if (IsNotFoundCode(code))
        {
            return new StorageException(FailureKind.NotFound, $"EC2 {action}: {detail}", ex);
        }
        if (ServerCodes.Contains(code) || (int)ex.StatusCode >= 500)
        {
            return new StorageException(FailureKind.Unavailable, $"EC2 {action} failed on the server side; retry ({detail})", ex);
        }
        if (ex.StatusCode == HttpStatusCode.Forbidden)
        {
            return new StorageException(FailureKind.PermissionDenied,
                $"the driver's AWS identity is not allowed to call ec2:{action} ({detail})", ex);
        }
        return new StorageException(FailureKind.Internal, $"EC2 {action} failed ({detail})", ex);
    }

    private static bool IsModificationCooldown(string code, string? message) =>
        code is "IncorrectModificationState" or "VolumeModificationRateExceeded"
        || (message?.Contains("modification rate", StringComparison.OrdinalIgnoreCase) ?? false);
}
