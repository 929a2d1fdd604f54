using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws;

/// <summary>Source-generated log messages of the aws backend (event ids 2200-2299; the snapshot managers define 2208-2214 next to their callers).</summary>
internal static partial class AwsBackendLog
{
    [LoggerMessage(EventId = 2201, Level = LogLevel.Information,
        Message = "EC2 replayed volume {VolumeId} for {Name}, which is being deleted or gone; asking again with client-token attempt {Attempt}")]
    public static partial void ReplayedDeletedVolume(ILogger logger, string volumeId, string name, int attempt);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Debug, Message = "Modifying {VolumeId} for {Requests} folded request(s)")]
    public static partial void ModifyingVolume(ILogger logger, string volumeId, int requests);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "ModifyVolume {VolumeId}: size {Size} type {Type} iops {Iops} throughput {Throughput}")]
    public static partial void ModifiedVolume(ILogger logger, string volumeId, int? size, string? type, int? iops, int? throughput);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information, Message = "EC2 clients for region {Region}, endpoint {Endpoint}")]
    public static partial void Ec2ClientsCreated(ILogger logger, string region, string endpoint);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Home region {Region} from instance metadata")]
    public static partial void RegionFromMetadata(ILogger logger, string region);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Error, Message = "Poller for {Resource} failed")]
    public static partial void PollerFailed(ILogger logger, Exception exception, string resource);

    [LoggerMessage(EventId = 2207, Level = LogLevel.Warning, Message = "Describing {Count} {Resource} ids failed, backing off: {Message}")]
    public static partial void PollerBackingOff(ILogger logger, int count, string resource, string message);

    [LoggerMessage(EventId = 2220, Level = LogLevel.Information, Message = "Created volume {VolumeId} for {Name}: {SizeGiB} GiB {Type} in {Zone} (client token attempt {Attempt})")]
    public static partial void VolumeCreated(ILogger logger, string? volumeId, string? name, long sizeGiB, string? type, string? zone, long attempt);

    [LoggerMessage(EventId = 2221, Level = LogLevel.Information, Message = "Deleted volume {VolumeId}")]
    public static partial void VolumeDeleted(ILogger logger, string? volumeId);

    [LoggerMessage(EventId = 2222, Level = LogLevel.Warning, Message = "Volume {VolumeId} failed to create, deleting it: {Message}")]
    public static partial void FailedVolumeDeleting(ILogger logger, string? volumeId, string? message);

    [LoggerMessage(EventId = 2223, Level = LogLevel.Warning, Message = "Could not delete failed volume {VolumeId}: {Message}")]
    public static partial void FailedVolumeNotDeleted(ILogger logger, string? volumeId, string? message);

    [LoggerMessage(EventId = 2224, Level = LogLevel.Information, Message = "Created snapshot {SnapshotId} of {VolumeId} for {Name}")]
    public static partial void SnapshotCreated(ILogger logger, string? snapshotId, string? volumeId, string? name);

    [LoggerMessage(EventId = 2225, Level = LogLevel.Information, Message = "Deleted snapshot {SnapshotId}")]
    public static partial void SnapshotDeleted(ILogger logger, string? snapshotId);

    [LoggerMessage(EventId = 2230, Level = LogLevel.Warning, Message = "Link {Link} points to {Device} whose serial is {Serial}, not {Expected}; ignoring the stale link")]
    public static partial void StaleDeviceLink(ILogger logger, string? link, string? device, string? serial, string? expected);

    [LoggerMessage(EventId = 2240, Level = LogLevel.Debug, Message = "EC2 {Action} failed: {ErrorCode} {Message} (request {RequestId})")]
    public static partial void Ec2CallFailed(ILogger logger, string? action, string? errorCode, string? message, string? requestId);

    [LoggerMessage(EventId = 2241, Level = LogLevel.Debug, Message = "EC2 {Action} did not reach EC2: {Message}")]
    public static partial void Ec2Unreachable(ILogger logger, string? action, string? message);

    [LoggerMessage(EventId = 2250, Level = LogLevel.Information, Message = "Attaching {VolumeId} to {InstanceId} as {Device}; waiting for EC2 to report it attached")]
    public static partial void Attaching(ILogger logger, string? volumeId, string? instanceId, string? device);

    [LoggerMessage(EventId = 2251, Level = LogLevel.Information, Message = "Attached {VolumeId} to {InstanceId} as {Device} after waiting {ElapsedMs} ms")]
    public static partial void Attached(ILogger logger, string? volumeId, string? instanceId, string? device, long elapsedMs);

    [LoggerMessage(EventId = 2252, Level = LogLevel.Warning, Message = "Device {Device} on {InstanceId} is in use, picking another: {Message}")]
    public static partial void DeviceNameInUse(ILogger logger, string? device, string? instanceId, string? message);

    [LoggerMessage(EventId = 2253, Level = LogLevel.Debug, Message = "EC2 refused attaching {VolumeId} to {InstanceId} directly, describing them: {Message}")]
    public static partial void AttachRefused(ILogger logger, string? volumeId, string? instanceId, string? message);

    [LoggerMessage(EventId = 2254, Level = LogLevel.Debug, Message = "Attaching {VolumeId} to {InstanceId} (sent: {Sent}) failed: {Message}")]
    public static partial void AttachFailed(ILogger logger, string? volumeId, string? instanceId, bool sent, string? message);

    [LoggerMessage(EventId = 2255, Level = LogLevel.Information, Message = "Detaching {VolumeId} from {InstanceId}")]
    public static partial void Detaching(ILogger logger, string? volumeId, string? instanceId);

    [LoggerMessage(EventId = 2256, Level = LogLevel.Debug, Message = "EC2 refused detaching {VolumeId} from {InstanceId} directly, describing it: {Message}")]
    public static partial void DetachRefused(ILogger logger, string? volumeId, string? instanceId, string? message);

    [LoggerMessage(EventId = 2257, Level = LogLevel.Information, Message = "Detached {VolumeId} from {InstanceId} after waiting {ElapsedMs} ms")]
    public static partial void Detached(ILogger logger, string? volumeId, string? instanceId, long elapsedMs);

    [LoggerMessage(EventId = 2260, Level = LogLevel.Information, Message = "Instance metadata from {Source}: {InstanceId} in {Zone} ({InstanceType})")]
    public static partial void MetadataResolved(ILogger logger, string? source, string? instanceId, string? zone, string? instanceType);

    [LoggerMessage(EventId = 2261, Level = LogLevel.Warning, Message = "Instance metadata source {Source} failed: {Message}")]
    public static partial void MetadataSourceFailed(ILogger logger, string? source, string? message);
}
