using Csi.V1;
using CsiDriver.Core.Errors;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Grpc;
using Grpc.Core;

namespace CsiDriver.Driver.Validation;

/// <summary>Turns CSI VolumeCapability messages into domain specs, rejecting malformed ones with INVALID_ARGUMENT.</summary>
public static class CapabilityMapper
{
    /// <summary>Filesystems the node can create and grow.</summary>
    public static readonly IReadOnlySet<string> SupportedFsTypes = new HashSet<string>(StringComparer.Ordinal) { "ext4", "ext3", "xfs" };

    public const string DefaultFsType = "ext4";

    /// <summary>Maps one capability; field names the request field for the error message.</summary>
    public static VolumeCapabilitySpec Map(VolumeCapability? capability, string field)
    {
        if (capability is null)
        {
            throw StatusMapping.Invalid($"{field} is required");
        }
        if (capability.AccessMode is null || capability.AccessMode.Mode == VolumeCapability.Types.AccessMode.Types.Mode.Unknown)
        {
            throw StatusMapping.Invalid($"{field}.access_mode is required");
        }
        var mode = (AccessMode)(int)capability.AccessMode.Mode;
        if (!Enum.IsDefined(mode))
        {
            throw StatusMapping.Invalid($"{field}.access_mode {(int)capability.AccessMode.Mode} is not a known access mode");
        }
        switch (capability.AccessTypeCase)
        {
            case VolumeCapability.AccessTypeOneofCase.Block:
                return new VolumeCapabilitySpec(AccessType.Block, mode, string.Empty, []);
            case VolumeCapability.AccessTypeOneofCase.Mount:
                var fsType = capability.Mount.FsType;
                if (fsType.Length > 0 && !SupportedFsTypes.Contains(fsType))
                {
                    throw StatusMapping.Invalid($"{field}.mount.fs_type '{InputEcho.Of(fsType)}' is not supported (supported: ext4, ext3, xfs)");
                }
                if (capability.Mount.MountFlags.Sum(f => f.Length) > 4096)
                {
                    throw StatusMapping.Invalid($"{field}.mount.mount_flags exceed 4 KiB");
                }
                return new VolumeCapabilitySpec(AccessType.Mount, mode, fsType, capability.Mount.MountFlags.ToArray());
            default:
                throw StatusMapping.Invalid($"{field} must set access_type (block or mount)");
        }
    }

    /// <summary>Maps a required, non-empty list of capabilities.</summary>
    public static IReadOnlyList<VolumeCapabilitySpec> MapAll(IReadOnlyCollection<VolumeCapability> capabilities, string field)
    {
        if (capabilities.Count == 0)
        {
            throw StatusMapping.Invalid($"{field} is required");
        }
        return capabilities.Select((c, i) => Map(c, $"{field}[{i}]")).ToArray();
    }

    /// <summary>Why the driver cannot serve a capability (e.g. multi-node filesystem), or null when it can.</summary>
    public static string? Unsupported(VolumeCapabilitySpec capability)
    {
        // A block filesystem mounted read-write on several nodes would corrupt it; only raw block may be shared.
        if (capability.AccessType == AccessType.Mount &&
            capability.AccessMode is AccessMode.MultiNodeMultiWriter or AccessMode.MultiNodeSingleWriter)
        {
            return $"access mode {capability.AccessMode} needs raw block access; a mounted filesystem cannot be shared by several writers";
        }
        return null;
    }

    /// <summary>Throws INVALID_ARGUMENT for a capability the driver cannot serve.</summary>
    public static void EnsureSupported(IEnumerable<VolumeCapabilitySpec> capabilities, string field)
    {
        foreach (var capability in capabilities)
        {
            if (Unsupported(capability) is { } reason)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field}: {reason}"));
            }
        }
    }
}
