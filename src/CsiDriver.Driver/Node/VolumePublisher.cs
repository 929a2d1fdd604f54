using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Node;

/// <summary>A validated NodePublishVolume; StagingPath and TargetPath are confined and canonical.</summary>
internal sealed record PublishRequest(
    string VolumeId,
    string StagingPath,
    string TargetPath,
    bool ReadOnly,
    IReadOnlyDictionary<string, string> PublishContext);

/// <summary>
/// Publishes a staged volume to a pod's target path: a bind mount of the staging mount (filesystem) or of the
/// device node onto a file (block). Unpublish unmounts only this volume's bind at the target path and removes the
/// target only when the node's record says publish created it.
/// </summary>
internal sealed class VolumePublisher(
    IDeviceFinder deviceFinder,
    IMountTable mounts,
    IMounter mounter,
    IBlockDevices devices,
    IPathInspector paths,
    NodeTargets targets,
    NodeVolumeRecords records,
    VolumeMountIdentity identity,
    ILogger<VolumePublisher> logger)
{
    public async Task PublishFilesystemAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        var device = await deviceFinder.FindDeviceAsync(request.VolumeId, request.PublishContext, cancellationToken).ConfigureAwait(false);
        var deviceNumber = devices.GetDeviceNumber(device);
        var staging = mounts.FindAt(request.StagingPath)
            ?? throw StorageException.FailedPrecondition(
                $"volume {request.VolumeId} is not staged at staging_target_path {request.StagingPath}; NodeStageVolume must succeed first");
        if (staging.Device != deviceNumber)
        {
            throw StorageException.FailedPrecondition(
                $"staging_target_path {request.StagingPath} holds {staging.Source}, not volume {request.VolumeId} ({device})");
        }

        if (mounts.FindAt(request.TargetPath) is { } existing)
        {
            if (existing.Device != staging.Device || existing.Root != staging.Root)
            {
                throw StorageException.AlreadyExists($"target_path {request.TargetPath} already has {existing.Source} mounted, not volume {request.VolumeId}");
            }
            // A bind of a read-only staging mount is read-only whatever was asked, so that is what a repeat finds.
            EnsureSameAccess(request with { ReadOnly = request.ReadOnly || staging.IsReadOnly }, existing);
            RecordTarget(request, deviceNumber, block: false, created: false);
            return;
        }

        var created = targets.EnsureDirectory(request.TargetPath, "target_path");
        await BindAsync(request.StagingPath, request, created).ConfigureAwait(false);
        RecordTarget(request, deviceNumber, block: false, created);
    }

    public async Task PublishBlockAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        var device = await deviceFinder.FindDeviceAsync(request.VolumeId, request.PublishContext, cancellationToken).ConfigureAwait(false);
        var deviceNumber = devices.GetDeviceNumber(device);

        // Recorded before the device is handed out: whatever a pod writes to it raw is data with no signature, and a
        // later stage as a filesystem must not format over it (even after a crash right after the bind).
        records.Update(request.VolumeId, r => r with { UsedAsRawBlock = true });

        if (mounts.FindAt(request.TargetPath) is { } existing)
        {
            var info = paths.Inspect(request.TargetPath);
            if (info.Kind != PathKind.BlockDevice || info.Rdev != deviceNumber)
            {
                throw StorageException.AlreadyExists($"target_path {request.TargetPath} already has something else mounted, not volume {request.VolumeId} ({device})");
            }
            EnsureSameAccess(request, existing);
            RecordTarget(request, deviceNumber, block: true, created: false);
            return;
        }

        var created = targets.EnsureFile(request.TargetPath, "target_path");
        // A read-only bind of a device node does not stop writes through it (the kernel checks only regular files
        // against the mount's ro flag); the container runtime enforces read-only devices with the device cgroup.
        // Marking the whole device read-only (blockdev --setro) would also break a read-write publish of it.
        await BindAsync(device, request, created).ConfigureAwait(false);
        RecordTarget(request, deviceNumber, block: true, created);
    }

    /// <summary>
    /// Unmounts this volume's bind at the target path, then deletes the target only when the record says publish
    /// created it (the spec: the SP deletes what it created; an empty directory or file someone else made stays).
    /// A path with no mount is success (kubelet retries). A mount that is not this volume's (another volume's bind,
    /// a tmpfs, the host's) is left alone with FAILED_PRECONDITION rather than NOT_FOUND: the volume may exist, but
    /// unpublishing it at that path would take down someone else's mount, which an operator has to sort out.
    /// </summary>
    public async Task UnpublishAsync(string volumeId, ConfinedPath target, CancellationToken cancellationToken)
    {
        var targetPath = target.Canonical;
        if (mounts.FindAt(targetPath) is { } mount)
        {
            var volumeDevices = await identity.DevicesOfAsync(volumeId, targetPath, cancellationToken).ConfigureAwait(false);
            var isOurs = VolumeMountIdentity.IsVolumeFilesystem(mount, volumeDevices)
                || (target.Kind != PathKind.Unreachable && VolumeMountIdentity.IsVolumeBlockBind(paths.Inspect(targetPath), volumeDevices));
            if (!isOurs)
            {
                throw StorageException.FailedPrecondition(
                    $"target_path {NodePathConfinement.Show(targetPath)} holds {VolumeMountIdentity.Describe(mount)}, which is not volume {volumeId}'s; it is left mounted");
            }
            await mounter.UnmountAsync(targetPath, cancellationToken).ConfigureAwait(false);
            if (mounts.FindAt(targetPath) is { } still)
            {
                throw StorageException.Internal($"{targetPath} is still a mount point ({still.Source}) after unmounting it once; mounts are stacked there");
            }
        }
        else
        {
            NodeLog.NotPublished(logger, volumeId, targetPath);
        }
        if (records.Read(volumeId).TargetAt(targetPath) is { CreatedTarget: true })
        {
            targets.RemoveCreated(targetPath);
        }
        else if (paths.InspectNoFollow(targetPath).Kind != PathKind.Missing)
        {
            NodeLog.LeftTargetNotCreated(logger, volumeId, targetPath);
        }
        records.Update(volumeId, r => r with { Targets = r.Targets.Where(t => t.Path != targetPath).ToList() });
    }

    /// <summary>Remembers the bind; a repeat keeps "created" from the call that really created the target.</summary>
    private void RecordTarget(PublishRequest request, DeviceNumber deviceNumber, bool block, bool created) =>
        records.Update(request.VolumeId, r =>
        {
            var createdBefore = r.TargetAt(request.TargetPath)?.CreatedTarget ?? false;
            var target = new PublishedTarget(request.TargetPath, deviceNumber.ToString(), block, created || createdBefore);
            return r with { Targets = [.. r.Targets.Where(t => t.Path != request.TargetPath), target] };
        });

    private async Task BindAsync(string source, PublishRequest request, bool created)
    {
        try
        {
            // Not cancelled half-way: bind and read-only remount belong together.
            await mounter.BindAsync(source, request.TargetPath, request.ReadOnly, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            if (created)
            {
                targets.RemoveCreated(request.TargetPath);
            }
            throw;
        }
    }

    private static void EnsureSameAccess(PublishRequest request, MountEntry existing)
    {
        if (existing.IsReadOnly != request.ReadOnly)
        {
            throw StorageException.AlreadyExists(
                $"volume {request.VolumeId} is already published at {request.TargetPath} {(existing.IsReadOnly ? "read-only" : "read-write")}; "
                + $"the request asks for {(request.ReadOnly ? "read-only" : "read-write")}");
        }
    }
}
