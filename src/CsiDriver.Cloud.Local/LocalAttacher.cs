using CsiDriver.Core.Errors;
using CsiDriver.Core.Storage;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Local;

/// <summary>
/// ControllerPublish / ControllerUnpublish of local volumes: a loop device over the volume's image, reached through
/// the stable link devices/&lt;volume-id&gt;, recorded in the volume's record. The caller holds the volume's key.
/// </summary>
internal sealed class LocalAttacher(
    LocalStatePaths paths,
    LocalCatalog catalog,
    LoopDevices loops,
    string nodeId,
    long maxVolumesPerNode,
    ILogger logger)
{
    /// <summary>Volumes attached to this node (one loop device each), read at each scrape of the metrics gauge.</summary>
    public long AttachedHere => catalog.AttachedTo(nodeId);

    public async Task<IReadOnlyDictionary<string, string>> PublishAsync(Core.Volumes.PublishSpec spec)
    {
        var record = catalog.Volume(spec.VolumeId)
            ?? throw StorageException.NotFound($"volume {spec.VolumeId} not found");
        // A volume held by another node is refused first (the CO must detach it there), whether or not the
        // requested node exists: FAILED_PRECONDITION names the holder, which is what the CO needs to know.
        if (record.Attachment is { } holder && holder.NodeId != spec.NodeId)
        {
            throw StorageException.FailedPrecondition(
                $"volume {record.VolumeId} is published to node {holder.NodeId}; a local volume is attached to one node at a time");
        }
        if (spec.NodeId != nodeId)
        {
            throw StorageException.NotFound($"node {spec.NodeId} is not served by the local backend (it serves node {nodeId})");
        }
        var image = paths.VolumeImage(record.VolumeId);
        var link = paths.DeviceLink(record.VolumeId);
        var publishContext = new Dictionary<string, string>(StringComparer.Ordinal) { [LocalVolumeProvider.DevicePathKey] = link };

        LocalCatalog.Reservation? slot = null;
        if (record.Attachment is { } attachment)
        {
            if (attachment.ReadOnly != spec.ReadOnly)
            {
                throw StorageException.AlreadyExists(
                    $"volume {record.VolumeId} is already published to node {spec.NodeId} with readonly={attachment.ReadOnly.ToString().ToLowerInvariant()}");
            }
            if (LoopDevices.IsBackedBy(attachment.LoopDevice, image))
            {
                DeviceLinks.Replace(link, attachment.LoopDevice);
                return publishContext;
            }
            // The recorded loop device vanished (detached by hand, or a reboot): attach again below.
            LocalBackendLog.LoopDeviceVanished(logger, attachment.LoopDevice, record.VolumeId);
        }
        else
        {
            // Held until the attachment is recorded, so two volumes attached at once cannot both take the last slot.
            slot = catalog.ReserveAttachSlot(spec.NodeId, maxVolumesPerNode);
        }
        using (slot)
        {
            if (!File.Exists(image))
            {
                throw StorageException.FailedPrecondition($"the backing file of volume {record.VolumeId} is missing: {image}");
            }
            var device = await loops.AttachAsync(image, spec.ReadOnly, CancellationToken.None).ConfigureAwait(false);
            try
            {
                ApplyMutableParameters(device, record.MutableParameters);
                DeviceLinks.Replace(link, device);
                var attached = record with { Attachment = new LocalAttachment(spec.NodeId, device, spec.ReadOnly) };
                AtomicFile.WriteJson(paths.VolumeRecord(record.VolumeId), attached, LocalJsonContext.Default.LocalVolumeRecord);
                catalog.Put(attached, heldFor: slot);
            }
            catch
            {
                await loops.DetachAsync(device, image, CancellationToken.None).ConfigureAwait(false);
                throw;
            }
            LocalBackendLog.VolumeAttached(logger, record.VolumeId, device, spec.NodeId);
        }
        return publishContext;
    }

    public async Task UnpublishAsync(string volumeId, string? fromNodeId)
    {
        if (catalog.Volume(volumeId) is not { Attachment: { } attachment } record)
        {
            return;
        }
        if (fromNodeId is not null && attachment.NodeId != fromNodeId)
        {
            // Published elsewhere, so it is not published to this node: nothing to do.
            return;
        }
        // Detach first, record last: a crash in between leaves a record whose device is gone, which
        // recovery repairs, never a device nobody knows about.
        await DetachAllBackedByAsync(paths.VolumeImage(volumeId)).ConfigureAwait(false);
        DeviceLinks.Remove(paths.DeviceLink(volumeId));
        var detached = record with { Attachment = null };
        AtomicFile.WriteJson(paths.VolumeRecord(volumeId), detached, LocalJsonContext.Default.LocalVolumeRecord);
        catalog.Put(detached);
        LocalBackendLog.VolumeDetached(logger, volumeId, attachment.NodeId);
    }

    /// <summary>Detaches every loop device over the image (also one over its deleted file).</summary>
    public async Task DetachAllBackedByAsync(string image)
    {
        foreach (var loop in LoopDevices.List().Where(l => l.BackingFile == image || l.BackingFile == image + " (deleted)"))
        {
            await loops.DetachAsync(loop.Device, loop.BackingFile, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>The volume's mutable parameters, applied to its loop device.</summary>
    public static void ApplyMutableParameters(string device, IReadOnlyDictionary<string, string>? parameters)
    {
        if (LocalMutableParameters.ReadAheadKiB(parameters) is { } kib)
        {
            LoopDevices.SetReadAheadKiB(device, kib);
        }
    }
}
