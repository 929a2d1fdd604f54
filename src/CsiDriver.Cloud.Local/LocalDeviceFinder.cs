using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using CsiDriver.Core.Storage;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// Finds a local volume's loop device through its stable link devices/&lt;volume-id&gt; and proves it is that
/// volume: the device's backing file must be the volume's image. A stale link (device detached and reused by
/// something else) is refused, so the node never formats or mounts another volume's data.
/// </summary>
public sealed class LocalDeviceFinder(IOptions<LocalBackendOptions> options) : IDeviceFinder
{
    private readonly LocalStatePaths _paths = new(options.Value.StateDir);

    public Task<string> FindDeviceAsync(string volumeId, IReadOnlyDictionary<string, string> publishContext, CancellationToken cancellationToken)
    {
        if (!LocalStatePaths.IsVolumeId(volumeId))
        {
            throw StorageException.NotFound($"volume {volumeId} is not a local volume id");
        }
        var expectedLink = _paths.DeviceLink(volumeId);
        if (publishContext.TryGetValue(LocalVolumeProvider.DevicePathKey, out var link) && link != expectedLink)
        {
            throw StorageException.InvalidArgument(
                $"publish_context {LocalVolumeProvider.DevicePathKey} '{link}' is not the device link of volume {volumeId} ({expectedLink})");
        }
        var device = DeviceLinks.Read(expectedLink);
        if (device is null)
        {
            throw StorageException.NotFound($"volume {volumeId} is not attached: no device link at {expectedLink}");
        }
        var image = _paths.VolumeImage(volumeId);
        var backing = LoopDevices.BackingFileOf(device);
        if (backing is null)
        {
            throw StorageException.NotFound($"volume {volumeId} is not attached: {device} (from {expectedLink}) has no backing file");
        }
        if (backing != image)
        {
            throw StorageException.FailedPrecondition(
                $"device link {expectedLink} is stale: {device} is backed by {backing}, not volume {volumeId}");
        }
        return Task.FromResult(device);
    }

    /// <summary>Ids come from names, so a volume deleted and created again has the same id: its record's creation time tells them apart.</summary>
    public string? IncarnationOf(string volumeId)
    {
        if (!LocalStatePaths.IsVolumeId(volumeId))
        {
            return null;
        }
        try
        {
            return AtomicFile.ReadJson(_paths.VolumeRecord(volumeId), LocalJsonContext.Default.LocalVolumeRecord)?.CreatedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            return null;
        }
    }
}
