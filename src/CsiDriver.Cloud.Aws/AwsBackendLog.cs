using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws;

/// <summary>Source-generated log messages of the aws backend (event ids 2200-2299).</summary>
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
}
