namespace CsiDriver.Core.Volumes;

public enum AccessType
{
    Mount,
    Block,
}

/// <summary>CSI access modes, same meaning and numbering as the spec's VolumeCapability.AccessMode.Mode.</summary>
public enum AccessMode
{
    Unknown = 0,
    SingleNodeWriter = 1,
    SingleNodeReaderOnly = 2,
    MultiNodeReaderOnly = 3,
    MultiNodeSingleWriter = 4,
    MultiNodeMultiWriter = 5,
    SingleNodeSingleWriter = 6,
    SingleNodeMultiWriter = 7,
}

/// <summary>How a volume is to be used: block or filesystem, access mode, filesystem and mount flags.</summary>
public sealed record VolumeCapabilitySpec(
    AccessType AccessType,
    AccessMode AccessMode,
    string FsType,
    IReadOnlyList<string> MountFlags)
{
    public bool IsBlock => AccessType == AccessType.Block;

    public bool IsMultiNode => AccessMode is AccessMode.MultiNodeReaderOnly
        or AccessMode.MultiNodeSingleWriter or AccessMode.MultiNodeMultiWriter;
}
