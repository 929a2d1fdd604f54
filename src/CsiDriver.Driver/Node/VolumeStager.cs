using CsiDriver.Core.Errors;
using CsiDriver.Core.Node;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Validation;
using CsiDriver.Mounter.Devices;
using CsiDriver.Mounter.Filesystems;
using CsiDriver.Mounter.Mounts;
using Microsoft.Extensions.Logging;

namespace CsiDriver.Driver.Node;

/// <summary>
/// A validated NodeStageVolume of a filesystem volume. StagingPath is confined and canonical; MountFlags passed the
/// allow-list. RequestedFsType is empty when the CO named none.
/// </summary>
internal sealed record StageRequest(
    string VolumeId,
    string StagingPath,
    string RequestedFsType,
    IReadOnlyList<string> MountFlags,
    FormatOptions FormatOptions,
    IReadOnlyDictionary<string, string> PublishContext)
{
    public string FsType => RequestedFsType.Length > 0 ? RequestedFsType : CapabilityMapper.DefaultFsType;
}

/// <summary>
/// Stages a filesystem volume: finds its device, formats it only when it is blank, mounts it at the staging path.
/// An existing filesystem is never reformatted. When it is not the type the CO asked for, staging fails with
/// FAILED_PRECONDITION instead of mounting it as something else or formatting over it (mount-utils would try to
/// mount it with the requested type and fail on the mount; failing before touching anything says why).
/// When the CO named no type, whatever supported filesystem is there is mounted.
/// </summary>
internal sealed class VolumeStager(
    IDeviceFinder deviceFinder,
    IMountTable mounts,
    IMounter mounter,
    IFilesystemProbe probe,
    IFormatter formatter,
    IResizer resizer,
    IBlockDevices devices,
    NodeTargets targets,
    NodeVolumeRecords records,
    VolumeMountIdentity identity,
    ILogger<VolumeStager> logger)
{
    public async Task StageAsync(StageRequest request, CancellationToken cancellationToken)
    {
        var device = await deviceFinder.FindDeviceAsync(request.VolumeId, request.PublishContext, cancellationToken).ConfigureAwait(false);
        var deviceNumber = devices.GetDeviceNumber(device);

        if (mounts.FindAt(request.StagingPath) is { } existing)
        {
            EnsureSameStaging(request, device, deviceNumber, existing);
            RecordStaged(request, deviceNumber);
            NodeLog.AlreadyStaged(logger, request.VolumeId, request.StagingPath);
            return;
        }

        var created = targets.EnsureDirectory(request.StagingPath, "staging_target_path");
        try
        {
            var (fsType, formatted) = await PrepareFilesystemAsync(request, device, deviceNumber, cancellationToken).ConfigureAwait(false);
            // From now on the volume holds a filesystem, which is data: never format it again, even if its signature
            // goes. One atomic write with the end of the format intent, so no crash leaves a record that allows mkfs.
            records.Update(request.VolumeId, r => r with { HeldFilesystem = true, FormatStarted = null });
            // A filesystem smaller than its device (restored into a larger volume, or expanded while unstaged) is
            // grown here, as the CO will not call NodeExpandVolume for it: ext before mounting (offline),
            // xfs after (xfs grows only mounted; a no-op when it already fills the device).
            if (!formatted && fsType is "ext4" or "ext3")
            {
                await resizer.GrowExtUnmountedAsync(device, devices.GetSizeBytes(deviceNumber), CancellationToken.None).ConfigureAwait(false);
            }
            // From here on the work is not cancelled: a mount is quick and must not be left half-done.
            await mounter.MountAsync(device, request.StagingPath, fsType, MountOptions(fsType, request.MountFlags), CancellationToken.None)
                .ConfigureAwait(false);
            RecordStaged(request, deviceNumber);
            if (!formatted && fsType == "xfs")
            {
                await GrowMountedXfsAsync(request, device).ConfigureAwait(false);
            }
        }
        catch
        {
            if (created)
            {
                targets.RemoveCreated(request.StagingPath);
            }
            throw;
        }
    }

    /// <summary>
    /// Unmounts the volume's staging mount. A path with no mount (never staged, already unstaged, or gone) is
    /// success, as kubelet retries need. A mount that is not this volume's filesystem (another volume's, a tmpfs,
    /// the host's) is left mounted with FAILED_PRECONDITION: the volume may well exist (so not NOT_FOUND), but the
    /// node is not in a state where unstaging it at that path is possible, and an operator has to look. A corrupted
    /// mount (ENOTCONN, ESTALE) is still found through mountinfo alone, and unmounted when its device is the volume's.
    /// </summary>
    public async Task UnstageAsync(string volumeId, string stagingPath, CancellationToken cancellationToken)
    {
        if (mounts.FindAt(stagingPath) is not { } mount)
        {
            NodeLog.NotStaged(logger, volumeId, stagingPath);
            ForgetStaged(volumeId, stagingPath);
            return;
        }
        var volumeDevices = await identity.DevicesOfAsync(volumeId, stagingPath, cancellationToken).ConfigureAwait(false);
        if (!VolumeMountIdentity.IsVolumeFilesystem(mount, volumeDevices))
        {
            throw StorageException.FailedPrecondition(
                $"staging_target_path {NodePathConfinement.Show(stagingPath)} holds {VolumeMountIdentity.Describe(mount)}, which is not volume {volumeId}'s staging mount; it is left mounted");
        }
        await mounter.UnmountAsync(stagingPath, cancellationToken).ConfigureAwait(false);
        if (mounts.FindAt(stagingPath) is { } still)
        {
            throw StorageException.Internal($"{stagingPath} is still a mount point ({still.Source}) after unmounting it once; mounts are stacked there");
        }
        ForgetStaged(volumeId, stagingPath);
        // The CO created the staging directory (CSI spec), so it stays.
    }

    private void RecordStaged(StageRequest request, DeviceNumber deviceNumber) =>
        records.Update(request.VolumeId, r => r with { HeldFilesystem = true, FormatStarted = null, StagingPath = request.StagingPath, StagedDevice = deviceNumber.ToString() });

    private void ForgetStaged(string volumeId, string stagingPath) =>
        records.Update(volumeId, r => r.StagingPath == stagingPath ? r with { StagingPath = null, StagedDevice = null } : r);

    /// <summary>The volume is mounted and usable either way; a failed grow is logged, and NodeExpandVolume can retry it.</summary>
    private async Task GrowMountedXfsAsync(StageRequest request, string device)
    {
        try
        {
            await resizer.ResizeAsync(device, request.StagingPath, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StorageException ex)
        {
            NodeLog.XfsGrowFailed(logger, request.VolumeId, ex.Message);
        }
    }

    private static void EnsureSameStaging(StageRequest request, string device, DeviceNumber deviceNumber, MountEntry existing)
    {
        if (existing.Device != deviceNumber || existing.Root != "/")
        {
            throw StorageException.AlreadyExists(
                $"staging_target_path {request.StagingPath} already has {existing.Source} mounted, not volume {request.VolumeId} ({device})");
        }
        if (request.RequestedFsType.Length > 0 && existing.FsType != request.RequestedFsType)
        {
            throw StorageException.AlreadyExists(
                $"volume {request.VolumeId} is already staged at {request.StagingPath} as {existing.FsType}, not {request.RequestedFsType}");
        }
    }

    /// <summary>
    /// Formats a blank device, or again a device whose format by this node was interrupted (a kill -9 mid-mkfs);
    /// otherwise checks what is there may be mounted. Returns the type to mount and whether it was just made.
    /// </summary>
    private async Task<(string FsType, bool Formatted)> PrepareFilesystemAsync(
        StageRequest request, string device, DeviceNumber deviceNumber, CancellationToken cancellationToken)
    {
        var content = await probe.ProbeAsync(device, cancellationToken).ConfigureAwait(false);
        switch (content.Kind)
        {
            case DeviceContentKind.Blank:
                EnsureNeverHeldData(request.VolumeId, device);
                await FormatAsync(request, device, deviceNumber, interrupted: false).ConfigureAwait(false);
                return (request.FsType, true);
            case DeviceContentKind.UnidentifiedData when InterruptedFormatOf(request, deviceNumber) is { } intent:
                NodeLog.FormattingAgainAfterInterruptedFormat(logger, request.VolumeId, device, intent.FsType);
                await FormatAsync(request, device, deviceNumber, interrupted: true).ConfigureAwait(false);
                return (request.FsType, true);
            // Killed mid-mkfs.xfs: a signature of the type being made, but unfinished (a finished one is mounted below).
            case DeviceContentKind.Filesystem when content.Type == request.FsType && InterruptedFormatOf(request, deviceNumber) is { } intent
                && await formatter.IsUnfinishedAsync(device, content.Type, cancellationToken).ConfigureAwait(false):
                NodeLog.FormattingAgainAfterInterruptedFormat(logger, request.VolumeId, device, intent.FsType);
                await FormatAsync(request, device, deviceNumber, interrupted: true).ConfigureAwait(false);
                return (request.FsType, true);
            case DeviceContentKind.Filesystem when !CapabilityMapper.SupportedFsTypes.Contains(content.Type):
                throw StorageException.FailedPrecondition(
                    $"volume {request.VolumeId} ({device}) holds {content.Describe()}; this driver mounts only ext4, ext3 and xfs and will not reformat it");
            case DeviceContentKind.Filesystem when request.RequestedFsType.Length > 0 && content.Type != request.RequestedFsType:
                throw StorageException.FailedPrecondition(
                    $"volume {request.VolumeId} ({device}) already holds {content.Describe()} but fs_type {request.RequestedFsType} was requested; it will not be reformatted"
                    + UnfinishedFormatNote(request, deviceNumber));
            case DeviceContentKind.Filesystem:
                if (!request.FormatOptions.IsEmpty)
                {
                    NodeLog.AlreadyFormatted(logger, request.VolumeId, content.Type);
                }
                return (content.Type, false);
            default:
                throw StorageException.FailedPrecondition(
                    $"volume {request.VolumeId} ({device}) holds {content.Describe()}; it will not be formatted or mounted"
                    + UnfinishedFormatNote(request, deviceNumber));
        }
    }

    /// <summary>
    /// Records the intent (crash-safe) before mkfs writes anything, so that after a kill mid-mkfs the retry knows the
    /// half-written device is this node's own doing. mkfs is never cancelled half-way.
    /// </summary>
    private async Task FormatAsync(StageRequest request, string device, DeviceNumber deviceNumber, bool interrupted)
    {
        var intent = new FormatIntent(request.FsType, devices.GetSizeBytes(deviceNumber), deviceNumber.ToString());
        records.Update(request.VolumeId, r => r with { FormatStarted = intent });
        if (interrupted)
        {
            await formatter.FormatInterruptedAsync(device, request.FsType, request.FormatOptions, CancellationToken.None).ConfigureAwait(false);
        }
        else
        {
            await formatter.FormatAsync(device, request.FsType, request.FormatOptions, CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The record's format intent when it proves that data without a signature on the device is this node's own
    /// interrupted mkfs of this volume: same volume (the record is per volume id and incarnation), same device size,
    /// same filesystem type asked for now, and nothing since then (no filesystem completed, no raw publish). The
    /// device number is not compared: a re-attached loop device can get another one. The intent is per node: a
    /// volume half-formatted on one node and then staged on another is refused there (the safe side).
    /// </summary>
    private FormatIntent? InterruptedFormatOf(StageRequest request, DeviceNumber deviceNumber)
    {
        var record = records.Read(request.VolumeId);
        return record is { FormatStarted: { } intent, HeldFilesystem: false, UsedAsRawBlock: false }
            && intent.FsType == request.FsType && intent.DeviceBytes == devices.GetSizeBytes(deviceNumber)
            ? intent
            : null;
    }

    /// <summary>Why an interrupted format recorded for the volume did not allow formatting again, for the refusal.</summary>
    private string UnfinishedFormatNote(StageRequest request, DeviceNumber deviceNumber)
    {
        if (records.Read(request.VolumeId).FormatStarted is not { } intent)
        {
            return string.Empty;
        }
        return intent.FsType != request.FsType
            ? $" (this node's format of it as {intent.FsType} was interrupted; stage it with fs_type {intent.FsType} to finish it)"
            : intent.DeviceBytes != devices.GetSizeBytes(deviceNumber)
                ? $" (this node's format of it was interrupted when the device was {intent.DeviceBytes} bytes; it is {devices.GetSizeBytes(deviceNumber)} now)"
                : string.Empty;
    }

    /// <summary>
    /// The probe samples; the record knows. A volume a pod had as a raw device, or that held a filesystem, holds data
    /// even when no signature and no sampled byte shows it, so it is not formatted.
    /// </summary>
    private void EnsureNeverHeldData(string volumeId, string device)
    {
        var record = records.Read(volumeId);
        if (record.UsedAsRawBlock || record.HeldFilesystem)
        {
            throw StorageException.FailedPrecondition(
                $"volume {volumeId} ({device}) reads as blank, but this node {(record.UsedAsRawBlock ? "published it as a raw block device" : "had a filesystem on it")} "
                + "before: it may hold data without a signature and will not be formatted");
        }
    }

    /// <summary>
    /// The CO's flags, plus nouuid for xfs: a volume restored from a snapshot carries its source's UUID, and xfs
    /// refuses to mount a second filesystem with a UUID already mounted on the node.
    /// </summary>
    internal static IReadOnlyList<string> MountOptions(string fsType, IReadOnlyList<string> flags)
    {
        var options = flags.Where(f => f.Length > 0).ToList();
        if (fsType == "xfs" && !options.Contains("nouuid", StringComparer.Ordinal))
        {
            options.Add("nouuid");
        }
        return options;
    }
}
