using System.Collections.Concurrent;
using Amazon.EC2;
using Amazon.EC2.Model;
using CsiDriver.Cloud.Aws.Ec2;
using CsiDriver.Cloud.Aws.Volumes;
using CsiDriver.Cloud.Aws.Waiting;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Cloud.Aws.Attachments;

/// <summary>
/// ControllerPublish / Unpublish on EC2: device names, AttachVolume / DetachVolume, waiting.
/// An attach or detach that this process can predict goes straight to EC2, which arbitrates: an attach of a volume
/// it holds no device name for, to an instance it has described before; a detach of a volume it holds a name for on
/// that node. Only when EC2 refuses does it describe the volume (and instance) and answer as if it had looked first,
/// so a busy cluster spends no Describe call before each attach and detach, only the batched waits after them.
/// </summary>
public sealed class AttachmentManager(
    Ec2Caller ec2,
    Ec2Pollers pollers,
    DeviceNameAllocator devices,
    ILogger<AttachmentManager> logger)
{
    /// <summary>publish_context key of the device name EC2 was given (as aws-ebs-csi-driver).</summary>
    public const string DevicePathKey = "devicePath";

    private const int MaxNameConflicts = 3;

    /// <summary>The device names each instance had when this process last described it (names EC2 gave out before us).</summary>
    private readonly ConcurrentDictionary<string, IReadOnlyList<string>> _describedDevices = new(StringComparer.Ordinal);

    public async Task<IReadOnlyDictionary<string, string>> PublishAsync(PublishSpec spec, CancellationToken cancellationToken)
    {
        if (await TryAttachDirectlyAsync(spec, cancellationToken).ConfigureAwait(false) is { } attached)
        {
            return attached;
        }
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
        Remember(instance);
        for (var attempt = 0; ; attempt++)
        {
            var device = devices.Allocate(instanceId, volumeId, inUse);
            try
            {
                var request = new AttachVolumeRequest { VolumeId = volumeId, InstanceId = instanceId, Device = device };
                await ec2.CallAsync("AttachVolume", (c, t) => c.AttachVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
                AwsBackendLog.Attaching(logger, volumeId, instanceId, device);
                var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                await WaitAttachedAsync(volumeId, instanceId, cancellationToken).ConfigureAwait(false);
                AwsBackendLog.Attached(logger, volumeId, instanceId, device, (long)System.Diagnostics.Stopwatch.GetElapsedTime(waitStarted).TotalMilliseconds);
                return Context(device);
            }
            catch (StorageException ex) when (IsNameInUse(ex) && attempt < MaxNameConflicts)
            {
                // EC2 knows of a name our view of the instance did not (attached by someone else just now).
                AwsBackendLog.DeviceNameInUse(logger, device, instanceId, ex.Message);
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

    /// <summary>
    /// AttachVolume without describing first, for a volume this process holds no name for on an instance it has
    /// described. Null when it does not apply or EC2 refused (the caller then takes the described path, which finds
    /// out why: attached here or elsewhere, another zone, a name taken, the instance gone).
    /// </summary>
    private async Task<IReadOnlyDictionary<string, string>?> TryAttachDirectlyAsync(PublishSpec spec, CancellationToken cancellationToken)
    {
        var (volumeId, instanceId) = (spec.VolumeId, spec.NodeId);
        // A read-only publish records its mark before the attach, from the described volume: the described path.
        if (spec.ReadOnly || devices.Reserved(instanceId, volumeId) is not null || !_describedDevices.TryGetValue(instanceId, out var inUse))
        {
            return null;
        }
        var device = devices.Allocate(instanceId, volumeId, inUse);
        var sent = false;
        try
        {
            var request = new AttachVolumeRequest { VolumeId = volumeId, InstanceId = instanceId, Device = device };
            try
            {
                await ec2.CallAsync("AttachVolume", (c, t) => c.AttachVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
                sent = true;
            }
            catch (StorageException ex) when (ex.Kind is not FailureKind.Unavailable)
            {
                devices.Release(instanceId, volumeId);
                AwsBackendLog.AttachRefused(logger, volumeId, instanceId, ex.Message);
                return null;
            }
            AwsBackendLog.Attaching(logger, volumeId, instanceId, device);
            if (await WaitAttachedAsync(volumeId, instanceId, cancellationToken).ConfigureAwait(false) is { } volume)
            {
                // A readonly mark left by an earlier read-only publish that never finished: this publish is read-write.
                await RecordReadOnlyAsync(volume, instanceId, readOnly: false, cancellationToken).ConfigureAwait(false);
            }
            return Context(device);
        }
        catch (Exception ex) when (ex is StorageException or OperationCanceledException)
        {
            // As on the described path: the attach may still complete, so the name is freed only when EC2 shows none.
            var (known, current) = await TryGetAsync(volumeId).ConfigureAwait(false);
            if (known && (FindAttachment(current, instanceId) is not { } attachment || !IsLive(attachment)))
            {
                devices.Release(instanceId, volumeId);
            }
            AwsBackendLog.AttachFailed(logger, volumeId, instanceId, sent, ex.Message);
            throw;
        }
    }

    /// <summary>What describing the instance showed: its device names, and the volumes on them as attachments it holds.</summary>
    private void Remember(Instance instance)
    {
        var mappings = instance.BlockDeviceMappings ?? [];
        foreach (var mapping in mappings.Where(m => m.DeviceName is not null && m.Ebs?.VolumeId is not null))
        {
            devices.Adopt(instance.InstanceId, mapping.Ebs.VolumeId, mapping.DeviceName);
        }
        _describedDevices[instance.InstanceId] = [.. mappings.Select(m => m.DeviceName).OfType<string>()];
    }

    public async Task UnpublishAsync(string volumeId, string? nodeId, CancellationToken cancellationToken)
    {
        if (nodeId is not null && devices.Reserved(nodeId, volumeId) is not null && await TryDetachDirectlyAsync(volumeId, nodeId, cancellationToken).ConfigureAwait(false))
        {
            return;
        }
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
                    AwsBackendLog.Detaching(logger, volumeId, attachment.InstanceId);
                }
                catch (StorageException ex) when (IsAlreadyDetached(ex))
                {
                    // Detached or deleted since we looked: what the caller wants.
                }
            }
            await WaitDetachedAsync(volumeId, attachment.InstanceId, cancellationToken).ConfigureAwait(false);
            await RecordReadOnlyAsync(volume, attachment.InstanceId, readOnly: false, cancellationToken).ConfigureAwait(false);
        }
        if (attachments.Count == 0)
        {
            ReleaseAll(volumeId, nodeId);
        }
    }

    /// <summary>
    /// DetachVolume without describing first, for a volume this process holds a name for on the node. False when EC2
    /// refused (not attached there, or already detaching): the caller describes the volume and acts on what it shows.
    /// </summary>
    private async Task<bool> TryDetachDirectlyAsync(string volumeId, string instanceId, CancellationToken cancellationToken)
    {
        var request = new DetachVolumeRequest { VolumeId = volumeId, InstanceId = instanceId };
        try
        {
            await ec2.CallAsync("DetachVolume", (c, t) => c.DetachVolumeAsync(request, t), cancellationToken).ConfigureAwait(false);
        }
        catch (StorageException ex) when (ex.Kind is not FailureKind.Unavailable)
        {
            AwsBackendLog.DetachRefused(logger, volumeId, instanceId, ex.Message);
            return false;
        }
        AwsBackendLog.Detaching(logger, volumeId, instanceId);
        if (await WaitDetachedAsync(volumeId, instanceId, cancellationToken).ConfigureAwait(false) is { } detached)
        {
            // The readonly mark of a read-only publish goes with the attachment, read from the wait's own answer.
            await RecordReadOnlyAsync(detached, instanceId, readOnly: false, cancellationToken).ConfigureAwait(false);
        }
        return true;
    }

    /// <summary>Waits until EC2 shows no attachment to the instance, frees the name, returns the volume as described then (null: gone).</summary>
    private async Task<Volume?> WaitDetachedAsync(string volumeId, string instanceId, CancellationToken cancellationToken)
    {
        var waitStarted = System.Diagnostics.Stopwatch.GetTimestamp();
        var volume = await pollers.Volumes.WaitAsync(volumeId, v => FindAttachment(v, instanceId) is not { } a || a.State == VolumeAttachmentState.Detached,
            new WaitSpec($"volume {volumeId} to detach from {instanceId}"), cancellationToken).ConfigureAwait(false);
        AwsBackendLog.Detached(logger, volumeId, instanceId, (long)System.Diagnostics.Stopwatch.GetElapsedTime(waitStarted).TotalMilliseconds);
        devices.Release(instanceId, volumeId);
        return volume;
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

    private Task<Volume?> WaitAttachedAsync(string volumeId, string instanceId, CancellationToken cancellationToken) =>
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
