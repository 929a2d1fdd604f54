using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws;

/// <summary>Source-generated log messages of the aws backend (event ids 2200-2299).</summary>
internal static partial class AwsBackendLog
{
    [LoggerMessage(EventId = 2201, Level = LogLevel.Information,
        Message = "EC2 replayed volume {VolumeId} for {Name}, which is being deleted or gone; asking again with client-token attempt {Attempt}")]
    public static partial void ReplayedDeletedVolume(ILogger logger, string volumeId, string name, int attempt);
}
