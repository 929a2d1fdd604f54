using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws.Attachments;

/// <summary>ControllerPublish / Unpublish on EC2: device names, AttachVolume / DetachVolume, waiting.</summary>
public sealed class AttachmentManager(
    Ec2Caller ec2,
    Ec2Pollers pollers,
    DeviceNameAllocator devices,
    ILogger<AttachmentManager> logger)
{
    /// <summary>publish_context key of the device name EC2 was given (as aws-ebs-csi-driver).</summary>
    public const string DevicePathKey = "devicePath";

    private const int MaxNameConflicts = 3;

    public async Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken)
    {
        var volumeId = spec.VolumeId;
        var instanceId = spec.NodeId;
        var volume = await pollers.Volumes.GetAsync(volumeId, cancellationToken).ConfigureAwait(false)
            ?? throw StorageException.NotFound($"volume {volumeId} does not exist");

        var mine = FindAttachment(volume, instanceId);
        if (mine?.State == VolumeAttachmentState.Detaching)
        {
            // An unpublish to this node is still finishing: attach again once EC2 has let go.
            volume = await pollers.Volumes.WaitAsync(volumeId, v => FindAttachment(v, instanceId) is not { } a || a.State == VolumeAttachmentState.Detached,
                new WaitSpec($"volume {volumeId} to finish detaching from {instanceId}"), cancellationToken).ConfigureAwait(false)
                ?? throw StorageException.NotFound($"volume {volumeId} does not exist");
            devices.Release(instanceId, volumeId);
            mine = null;
        }
        if (mine is not null && IsLive(mine))
        {
            // Already attached (or attaching) here: idempotent success once it is attached, with the same readonly.
            var publishedReadOnly = EbsTags.Get(volume.Tags, EbsTags.PublishedReadOnly(instanceId)) is not null;
            if (publishedReadOnly != spec.ReadOnly)
            {
                throw StorageException.AlreadyExists(
                    $"volume {volumeId} is already published to node {instanceId} with readonly={publishedReadOnly.ToString().ToLowerInvariant()}");
            }
            devices.Adopt(instanceId, volumeId, mine.Device);
            var device = mine.Device;
            await WaitAttachedAsync(volumeId, instanceId, cancellationToken).ConfigureAwait(false);
            return Context(device);
        }

        var elsewhere = (volume.Attachments ?? []).Where(a => a.InstanceId != instanceId && IsLive(a)).ToList();
        if (elsewhere.Count > 0)
        {
            var multiAttach = volume.MultiAttachEnabled == true && spec.Capability.AccessMode == AccessMode.MultiNodeMultiWriter;
            if (!multiAttach)
            {
                throw StorageException.FailedPrecondition(
                    $"volume {volumeId} is attached to node {elsewhere[0].InstanceId}; it can be attached to one node at a time " +
                    "(only io1/io2 volumes created for block MULTI_NODE_MULTI_WRITER can be attached to several)");
            }
        }

        var instance = await pollers.Instances.GetAsync(instanceId, cancellationToken).ConfigureAwait(false);
        if (instance is null || instance.State?.Name == InstanceStateName.Terminated || instance.State?.Name == InstanceStateName.ShuttingDown)
        {
            throw StorageException.NotFound($"node {instanceId} is not a running EC2 instance");
        }
        var instanceZone = instance.Placement?.AvailabilityZone;
        if (instanceZone is not null && volume.AvailabilityZone is not null && instanceZone != volume.AvailabilityZone)
        {
            throw StorageException.FailedPrecondition(
                $"volume {volumeId} is in {volume.AvailabilityZone} but node {instanceId} is in {instanceZone}; EBS volumes attach only within their zone");
        }

        // Remembered before the attach: a crash in between leaves a mark that the retry of this call agrees with.
        await RecordReadOnlyAsync(volume, instanceId, spec.ReadOnly, cancellationToken).ConfigureAwait(false);
        var inUse = new List<string>((instance.BlockDeviceMappings ?? []).Select(m => m.DeviceName).OfType<string>());
        for (var attempt = 0; ; attempt++)
        {
            var device = devices.Allocate(instanceId, volumeId, inUse);
            try
            {
                var request = new AttachVolumeRequest { VolumeId = volumeId, InstanceId = instanceId, Device = device };
                await ec2.CallAsync("AttachVolume", (c, t) => c.AttachVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Attaching {VolumeId} to {InstanceId} as {Device}; waiting for EC2 to report it attached", volumeId, instanceId, device);
                var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                await WaitAttachedAsync(volumeId, instanceId, cancellationToken).ConfigureAwait(false);
                logger.LogInformation("Attached {VolumeId} to {InstanceId} as {Device} after waiting {ElapsedMs} ms", volumeId, instanceId, device,
                    (long)System.Diagnostics.Stopwatch.GetElapsedTime(waitStarted).TotalMilliseconds);
                return Context(device);
            }
            catch (StorageException ex) when (IsNameInUse(ex) && attempt < MaxNameConflicts)
            {
                // EC2 knows of a name our view of the instance did not (attached by someone else just now).
                logger.LogWarning("Device {Device} on {InstanceId} is in use, picking another: {Message}", device, instanceId, ex.Message);
                devices.Release(instanceId, volumeId);
                inUse.Add(device);
            }
            catch (StorageException ex) when (ex.Kind is FailureKind.NotFound)
            {
                devices.Release(instanceId, volumeId);
                throw StorageException.NotFound($"attaching volume {volumeId} to node {instanceId}: {ex.Message}");
            }
            catch
            {
                // The attach may still complete: free the name only when EC2 positively shows no attachment here.
                // When that cannot be learned, keeping the name is the safe side (it is freed by the unpublish).
                var (known, current) = await TryGetAsync(volumeId).ConfigureAwait(false);
                if (known && (FindAttachment(current, instanceId) is not { } attachment || !IsLive(attachment)))
                {
                    devices.Release(instanceId, volumeId);
                }
                throw;
            }
        }
    }

    public async Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken)
    {
        var volume = await pollers.Volumes.GetAsync(volumeId, cancellationToken).ConfigureAwait(false);
        if (volume is null)
        {
            ReleaseAll(volumeId, nodeId);
            return;
        }
        var attachments = (volume.Attachments ?? [])
            .Where(a => (nodeId is null || a.InstanceId == nodeId) && a.State != VolumeAttachmentState.Detached)
            .ToList();
        foreach (var attachment in attachments)
        {
            if (attachment.State != VolumeAttachmentState.Detaching)
            {
                var request = new DetachVolumeRequest { VolumeId = volumeId, InstanceId = attachment.InstanceId };
                try
                {
                    await ec2.CallAsync("DetachVolume", (c, t) => c.DetachVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
                    logger.LogInformation("Detaching {VolumeId} from {InstanceId}", volumeId, attachment.InstanceId);
                }
                catch (StorageException ex) when (IsAlreadyDetached(ex))
                {
                    // Detached or deleted since we looked: what the caller wants.
                }
            }
            var instanceId = attachment.InstanceId;
            var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
            await pollers.Volumes.WaitAsync(volumeId, v => FindAttachment(v, instanceId) is not { } a || a.State == VolumeAttachmentState.Detached,
                new WaitSpec($"volume {volumeId} to detach from {instanceId}"), cancellationToken).ConfigureAwait(false);
            logger.LogInformation("Detached {VolumeId} from {InstanceId} after waiting {ElapsedMs} ms", volumeId, instanceId,
                (long)System.Diagnostics.Stopwatch.GetElapsedTime(waitStarted).TotalMilliseconds);
            devices.Release(instanceId, volumeId);
            await RecordReadOnlyAsync(volume, instanceId, readOnly: false, cancellationToken).ConfigureAwait(false);
        }
        if (attachments.Count == 0)
        {
            ReleaseAll(volumeId, nodeId);
        }
    }

    /// <summary>Makes the volume's <see cref="EbsTags.PublishedReadOnly"/> tag for the instance say readOnly (absent = false).</summary>
    private async Task RecordReadOnlyAsync(Volume volume, string instanceId, bool readOnly, CancellationToken cancellationToken)
    {
        var key = EbsTags.PublishedReadOnly(instanceId);
        var recorded = EbsTags.Get(volume.Tags, key) is not null;
        if (recorded == readOnly)
        {
            return;
        }
        var volumeId = volume.VolumeId;
        try
        {
            if (readOnly)
            {
                var create = new CreateTagsRequest { Resources = [volumeId], Tags = [new Tag(key, "true")] };
                await ec2.CallAsync("CreateTags", (c, t) => c.CreateTagsAsync(create, t), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                var delete = new DeleteTagsRequest { Resources = [volumeId], Tags = [new Tag { Key = key }] };
                await ec2.CallAsync("DeleteTags", (c, t) => c.DeleteTagsAsync(delete, t), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (StorageException ex) when (ex.Kind == FailureKind.NotFound && !readOnly)
        {
            // Deleted since we looked: no tag left to clear.
        }
    }

    private void ReleaseAll(string volumeId, string? nodeId)
    {
        if (nodeId is not null)
        {
            devices.Release(nodeId, volumeId);
        }
    }

    private Task WaitAttachedAsync(string volumeId, string instanceId, CancellationToken cancellationToken) =>
        pollers.Volumes.WaitAsync(volumeId, volume =>
        {
            if (volume is null)
            {
                throw StorageException.NotFound($"volume {volumeId} was deleted while attaching to {instanceId}");
            }
            // Missing or detached right after AttachVolume can be a stale read; keep waiting (bounded by the wait timeout).
            return FindAttachment(volume, instanceId)?.State == VolumeAttachmentState.Attached;
        }, new WaitSpec($"volume {volumeId} to attach to {instanceId}"), cancellationToken);

    private async Task<(bool Known, Volume? Volume)> TryGetAsync(string volumeId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            return (true, await pollers.Volumes.GetAsync(volumeId, timeout.Token).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is StorageException or OperationCanceledException)
        {
            return (false, null);
        }
    }

    private static Dictionary<string, string> Context(string device) => new(StringComparer.Ordinal) { [DevicePathKey] = device };

    internal static VolumeAttachment? FindAttachment(Volume? volume, string instanceId) =>
        volume?.Attachments?.FirstOrDefault(a => a.InstanceId == instanceId);

    private static bool IsLive(VolumeAttachment attachment) =>
        attachment.State == VolumeAttachmentState.Attached || attachment.State == VolumeAttachmentState.Attaching
        || attachment.State == VolumeAttachmentState.Busy;

    private static bool IsNameInUse(StorageException ex) =>
        Ec2ErrorMapper.CodeOf(ex) == "InvalidParameterValue"
        && (ex.Message.Contains("in use", StringComparison.OrdinalIgnoreCase) || ex.Message.Contains("already", StringComparison.OrdinalIgnoreCase));

    private static bool IsAlreadyDetached(StorageException ex) =>
        ex.Kind == FailureKind.NotFound
        || Ec2ErrorMapper.CodeOf(ex) is "IncorrectState" or "InvalidAttachment.NotFound";
}
