using Type = Csi.V1.ControllerServiceCapability.Types.RPC.Types.Type;

namespace CsiDriver.Driver.Controller;

/// <summary>
/// The controller capabilities this driver implements, each with the CSI spec release that introduced it. Only
/// those up to the configured level (--csi-capabilities) are advertised: a sidecar built on an older spec may not
/// survive a value it does not know (csi-provisioner v5.2.0 crashes at start on GET_SNAPSHOT).
/// </summary>
public static class ControllerCapabilities
{
    private static readonly Version V1_0 = new(1, 0);

    private static readonly (Type Type, Version Since)[] Implemented =
    [
        (Type.CreateDeleteVolume, V1_0),
        (Type.PublishUnpublishVolume, V1_0),
        (Type.ListVolumes, V1_0),
        (Type.CreateDeleteSnapshot, V1_0),
        (Type.ListSnapshots, V1_0),
        (Type.CloneVolume, V1_0),
        (Type.PublishReadonly, V1_0),
        (Type.ExpandVolume, new(1, 1)),
        (Type.ListVolumesPublishedNodes, new(1, 2)),
        (Type.VolumeCondition, new(1, 3)),
        (Type.GetVolume, new(1, 3)),
        (Type.SingleNodeMultiWriter, new(1, 5)),
        (Type.ModifyVolume, new(1, 9)),
        (Type.GetSnapshot, new(1, 12)),
    ];

    /// <summary>What ControllerGetCapabilities lists when the driver advertises up to <paramref name="level"/>.</summary>
    public static IEnumerable<Type> Advertised(Version level) =>
        Implemented.Where(c => c.Since <= level).Select(c => c.Type);
}
