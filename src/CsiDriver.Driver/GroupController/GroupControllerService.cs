using Csi.V1;
using Grpc.Core;

namespace CsiDriver.Driver.GroupController;

/// <summary>
/// CSI GroupController, answered but empty: no backend takes group snapshots yet. A csi-snapshotter with
/// group snapshots enabled may ask for these capabilities; an empty list (rather than UNIMPLEMENTED on the
/// whole service) tells it plainly that the driver has none.
/// </summary>
public sealed class GroupControllerService : Csi.V1.GroupController.GroupControllerBase
{
    public override Task<GroupControllerGetCapabilitiesResponse> GroupControllerGetCapabilities(
        GroupControllerGetCapabilitiesRequest request, ServerCallContext context) =>
        Task.FromResult(new GroupControllerGetCapabilitiesResponse());
}
