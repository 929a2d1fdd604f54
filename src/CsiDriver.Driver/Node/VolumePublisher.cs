using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Node;

/// <summary>A validated NodePublishVolume.</summary>
internal sealed record PublishRequest(
    string VolumeId,
    string StagingPath,
    string TargetPath,
    bool ReadOnly,
    IReadOnlyDictionary<string, string> PublishContext);

/// <summary>
/// Publishes a staged volume to a pod's target path: a bind mount of the staging mount (filesystem) or of the
/// device node onto a file (block). Unpublish unmounts only the target path and removes only what publish made.
/// </summary>
internal sealed class VolumePublisher(
    IDeviceFinder deviceFinder,
    IMountTable mounts,
    IMounter mounter,
    IBlockDevices devices,
    IPathInspector paths,
    NodeTargets targets,
    ILogger logger)
{
    public async Task PublishFilesystemAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        var device = await deviceFinder.FindDeviceAsync(request.VolumeId, request.PublishContext, cancellationToken).ConfigureAwait(false);
        var deviceNumber = devices.GetDeviceNumber(device);
        var staging = mounts.FindByMountPoint(request.StagingPath)
            ?? throw StorageException.FailedPrecondition(
                $"volume {request.VolumeId} is not staged at staging_target_path {request.StagingPath}; NodeStageVolume must succeed first");
        if (staging.Device != deviceNumber)
        {
            throw StorageException.FailedPrecondition(
                $"staging_target_path {request.StagingPath} holds {staging.Source}, not volume {request.VolumeId} ({device})");
        }

        if (mounts.FindByMountPoint(request.TargetPath) is { } existing)
        {
            if (existing.Device != staging.Device || existing.Root != staging.Root)
            {
                throw StorageException.AlreadyExists($"target_path {request.TargetPath} already has {existing.Source} mounted, not volume {request.VolumeId}");
            }
            // A bind of a read-only staging mount is read-only whatever was asked, so that is what a repeat finds.
            EnsureSameAccess(request with { ReadOnly = request.ReadOnly || staging.IsReadOnly }, existing);
            return;
        }

        var created = targets.EnsureDirectory(request.TargetPath, "target_path");
        await BindAsync(request.StagingPath, request, created).ConfigureAwait(false);
    }

    public async Task PublishBlockAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        var device = await deviceFinder.FindDeviceAsync(request.VolumeId, request.PublishContext, cancellationToken).ConfigureAwait(false);
        var deviceNumber = devices.GetDeviceNumber(device);

        if (mounts.FindByMountPoint(request.TargetPath) is { } existing)
        {
            var info = paths.Inspect(request.TargetPath);
            if (info.Kind != PathKind.BlockDevice || info.Rdev != deviceNumber)
            {
                throw StorageException.AlreadyExists($"target_path {request.TargetPath} already has something else mounted, not volume {request.VolumeId} ({device})");
            }
            EnsureSameAccess(request, existing);
            return;
        }

        var created = targets.EnsureFile(request.TargetPath, "target_path");
        // A read-only bind of a device node does not stop writes through it (the kernel checks only regular files
        // against the mount's ro flag); the container runtime enforces read-only devices with the device cgroup.
        // Marking the whole device read-only (blockdev --setro) would also break a read-write publish of it.
        await BindAsync(device, request, created).ConfigureAwait(false);
    }

    public async Task UnpublishAsync(string volumeId, string targetPath, CancellationToken cancellationToken)
    {
        if (mounts.FindByMountPoint(targetPath) is { } mount)
        {
            targets.EnsureDriverMount(mount, targetPath, "target_path");
            await mounter.UnmountAsync(targetPath, cancellationToken).ConfigureAwait(false);
            if (mounts.FindByMountPoint(targetPath) is { } still)
            {
                throw StorageException.Internal($"{targetPath} is still a mount point ({still.Source}) after unmounting it once; mounts are stacked there");
            }
        }
        else
        {
            logger.LogDebug("Volume {VolumeId} is not published at {TargetPath}", volumeId, targetPath);
        }
        // The spec makes the plugin delete the file or directory it created at the target path.
        targets.RemoveCreated(targetPath);
    }

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
