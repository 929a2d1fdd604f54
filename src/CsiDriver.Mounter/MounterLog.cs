using Microsoft.Extensions.Logging;

namespace CsiDriver.Mounter;

/// <summary>Source-generated log messages of the node OS layer: commands, mounts, mkfs, resize (event ids 1200-1299).</summary>
internal static partial class MounterLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Debug, Message = "Ran {Command}: exit {ExitCode} in {ElapsedMs} ms")]
    public static partial void CommandRan(ILogger logger, string? command, long exitCode, long elapsedMs);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "Mounted {Device} ({FsType}) at {Target}")]
    public static partial void Mounted(ILogger logger, string? device, string? fsType, string? target);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Information, Message = "Bind-mounted {Source} at {Target} ({Access})")]
    public static partial void BindMounted(ILogger logger, string? source, string? target, string? access);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "Unmounted {Target}")]
    public static partial void Unmounted(ILogger logger, string? target);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "Formatting {Device} as {FsType}")]
    public static partial void Formatting(ILogger logger, string? device, string? fsType);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "Formatted {Device} as {FsType} in {ElapsedMs} ms")]
    public static partial void Formatted(ILogger logger, string? device, string? fsType, long elapsedMs);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "Grew the {FsType} filesystem on {Device} at {MountPoint} in {ElapsedMs} ms")]
    public static partial void GrewMounted(ILogger logger, string? fsType, string? device, string? mountPoint, long elapsedMs);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Information, Message = "Grew the unmounted filesystem on {Device} from {FromBytes} to {ToBytes} bytes in {ElapsedMs} ms")]
    public static partial void GrewUnmounted(ILogger logger, string? device, long fromBytes, long toBytes, long elapsedMs);
}
