using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Controller.Requests;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>Every Controller RPC with malformed or impossible requests: the status code the CSI spec asks for, and a message naming the problem.</summary>
public sealed class ControllerBadRequestTests(BadRequestFixture fixture) : IClassFixture<BadRequestFixture>
{
    private delegate Task Call(Csi.V1.Controller.ControllerClient client, BadRequestFixture f);

    private sealed record Case(StatusCode Code, string MessagePart, Call Run);

    private static Case C<T>(StatusCode code, string messagePart, Func<Csi.V1.Controller.ControllerClient, BadRequestFixture, AsyncUnaryCall<T>> call) =>
        new(code, messagePart, async (client, f) => await call(client, f));

    private static CreateVolumeRequest WithParameter(string key, string value)
    {
        var request = Create("bad-param");
        request.Parameters[key] = value;
        return request;
    }

    private static CreateVolumeRequest WithCapability(VolumeCapability capability) => Create("bad-cap", capability: capability);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        // CreateVolume
        ["CreateVolume without name"] = C(StatusCode.InvalidArgument, "name", (c, _) => c.CreateVolumeAsync(Create(""))),
        ["CreateVolume with a name over 128 bytes"] = C(StatusCode.InvalidArgument, "name", (c, _) => c.CreateVolumeAsync(Create(new string('n', 129)))),
        ["CreateVolume with a control character in the name"] = C(StatusCode.InvalidArgument, "name", (c, _) => c.CreateVolumeAsync(Create("bad\u0001name"))),
        ["CreateVolume without capabilities"] = C(StatusCode.InvalidArgument, "volume_capabilities", (c, _) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-nocap" })),
        ["CreateVolume capability without access mode"] = C(StatusCode.InvalidArgument, "access_mode", (c, _) => c.CreateVolumeAsync(WithCapability(new VolumeCapability { Mount = new() }))),
        ["CreateVolume capability without access type"] = C(StatusCode.InvalidArgument, "access_type", (c, _) => c.CreateVolumeAsync(WithCapability(new VolumeCapability { AccessMode = new() { Mode = Mode.SingleNodeWriter } }))),
        ["CreateVolume with an unsupported fs_type"] = C(StatusCode.InvalidArgument, "ntfs", (c, _) => c.CreateVolumeAsync(WithCapability(Mount(fsType: "ntfs")))),
        ["CreateVolume mount with multi-node writers"] = C(StatusCode.InvalidArgument, "MultiNodeMultiWriter", (c, _) => c.CreateVolumeAsync(WithCapability(Mount(Mode.MultiNodeMultiWriter)))),
        ["CreateVolume with negative required_bytes"] = C(StatusCode.InvalidArgument, "required_bytes", (c, _) => c.CreateVolumeAsync(Create("bad-neg", -1))),
        ["CreateVolume with negative limit_bytes"] = C(StatusCode.InvalidArgument, "limit_bytes", (c, _) => c.CreateVolumeAsync(Create("bad-neg", 0, -1))),
        ["CreateVolume with limit below required"] = C(StatusCode.InvalidArgument, "limit_bytes", (c, _) => c.CreateVolumeAsync(Create("bad-range", 10 * MiB, 5 * MiB))),
        ["CreateVolume with an unknown parameter"] = C(StatusCode.InvalidArgument, "'color'", (c, _) => c.CreateVolumeAsync(WithParameter("color", "blue"))),
        ["CreateVolume with a malformed format parameter"] = C(StatusCode.InvalidArgument, "blockSize", (c, _) => c.CreateVolumeAsync(WithParameter("blockSize", "3"))),
        ["CreateVolume with an unsupported fstype parameter"] = C(StatusCode.InvalidArgument, "fstype", (c, _) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-fsparam", VolumeCapabilities = { Mount(fsType: "") }, Parameters = { ["csi.storage.k8s.io/fstype"] = "zfs" } })),
        ["CreateVolume with an unknown mutable parameter"] = C(StatusCode.InvalidArgument, "'speed'", (c, _) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-mutable", VolumeCapabilities = { Mount() }, MutableParameters = { ["speed"] = "fast" } })),
        ["CreateVolume from a snapshot with an empty id"] = C(StatusCode.InvalidArgument, "snapshot_id", (c, _) => c.CreateVolumeAsync(FromSnapshot("bad-src", ""))),
        ["CreateVolume from a volume with an empty id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.CreateVolumeAsync(FromVolume("bad-src", ""))),
        ["CreateVolume with an empty content source"] = C(StatusCode.InvalidArgument, "volume_content_source", (c, _) => c.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-src", VolumeCapabilities = { Mount() }, VolumeContentSource = new() })),
        ["CreateVolume from a missing snapshot"] = C(StatusCode.NotFound, "snap-0000000000000000", (c, _) => c.CreateVolumeAsync(FromSnapshot("bad-src", "snap-0000000000000000"))),
        ["CreateVolume from a missing volume"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.CreateVolumeAsync(FromVolume("bad-src", "vol-0000000000000000"))),
        ["CreateVolume with a limit below one MiB"] = C(StatusCode.OutOfRange, "limit_bytes", (c, _) => c.CreateVolumeAsync(Create("bad-tiny", 1, 1000))),
        ["CreateVolume from a snapshot bigger than the limit"] = C(StatusCode.OutOfRange, "limit_bytes", (c, f) => c.CreateVolumeAsync(FromSnapshot("bad-restore", f.SnapshotId, 1 * MiB, 8 * MiB))),
        ["CreateVolume beyond the backend's capacity"] = C(StatusCode.ResourceExhausted, "bytes", (c, _) => c.CreateVolumeAsync(Create("bad-huge", BadRequestFixture.BackendCapacity))),
        ["CreateVolume in a zone the backend does not serve"] = C(StatusCode.ResourceExhausted, "topology", (c, _) => c.CreateVolumeAsync(new CreateVolumeRequest
        {
            Name = "bad-zone",
            VolumeCapabilities = { Mount() },
            AccessibilityRequirements = new TopologyRequirement { Requisite = { new Topology { Segments = { ["topology.kubernetes.io/zone"] = "elsewhere" } } } },
        })),
        ["CreateVolume with the name of another volume but another size"] = C(StatusCode.AlreadyExists, "bad-free", (c, _) => c.CreateVolumeAsync(Create("bad-free", 64 * MiB))),

        // DeleteVolume
        ["DeleteVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.DeleteVolumeAsync(new DeleteVolumeRequest())),
        ["DeleteVolume of a published volume"] = C(StatusCode.FailedPrecondition, "published", (c, f) => c.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = f.PublishedVolumeId })),

        // ControllerPublishVolume
        ["ControllerPublishVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerPublishVolumeAsync(Publish(""))),
        ["ControllerPublishVolume without node_id"] = C(StatusCode.InvalidArgument, "node_id", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, ""))),
        ["ControllerPublishVolume without capability"] = C(StatusCode.InvalidArgument, "volume_capability", (c, f) => c.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest { VolumeId = f.FreeVolumeId, NodeId = "test-node" })),
        ["ControllerPublishVolume mount with multi-node writers"] = C(StatusCode.InvalidArgument, "volume_capability", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, capability: Mount(Mode.MultiNodeSingleWriter)))),
        ["ControllerPublishVolume of a missing volume"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.ControllerPublishVolumeAsync(Publish("vol-0000000000000000"))),
        ["ControllerPublishVolume to a missing node"] = C(StatusCode.NotFound, "other-node", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, "other-node"))),
        ["ControllerPublishVolume of a volume published to another node"] = C(StatusCode.FailedPrecondition, "test-node", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.PublishedVolumeId, "other-node"))),
        ["ControllerPublishVolume again with another readonly flag"] = C(StatusCode.AlreadyExists, "readonly", (c, f) => c.ControllerPublishVolumeAsync(Publish(f.PublishedVolumeId, readOnly: true))),

        // ControllerUnpublishVolume
        ["ControllerUnpublishVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { NodeId = "test-node" })),

        // ValidateVolumeCapabilities
        ["ValidateVolumeCapabilities without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeCapabilities = { Mount() } })),
        ["ValidateVolumeCapabilities without capabilities"] = C(StatusCode.InvalidArgument, "volume_capabilities", (c, f) => c.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = f.FreeVolumeId })),
        ["ValidateVolumeCapabilities of a missing volume"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = "vol-0000000000000000", VolumeCapabilities = { Mount() } })),

        // ListVolumes
        ["ListVolumes with negative max_entries"] = C(StatusCode.InvalidArgument, "max_entries", (c, _) => c.ListVolumesAsync(new ListVolumesRequest { MaxEntries = -1 })),
        ["ListVolumes with a token that does not parse"] = C(StatusCode.Aborted, "starting_token", (c, _) => c.ListVolumesAsync(new ListVolumesRequest { StartingToken = "garbage" })),
        ["ListVolumes with a token past the end"] = C(StatusCode.Aborted, "starting_token", (c, _) => c.ListVolumesAsync(new ListVolumesRequest { StartingToken = "999999" })),

        // GetCapacity
        ["GetCapacity is not offered"] = C(StatusCode.Unimplemented, "GetCapacity", (c, _) => c.GetCapacityAsync(new GetCapacityRequest())),

        // CreateSnapshot
        ["CreateSnapshot without name"] = C(StatusCode.InvalidArgument, "name", (c, f) => c.CreateSnapshotAsync(new CreateSnapshotRequest { SourceVolumeId = f.FreeVolumeId })),
        ["CreateSnapshot without source_volume_id"] = C(StatusCode.InvalidArgument, "source_volume_id", (c, _) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-2" })),
        ["CreateSnapshot of a missing volume"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-3", SourceVolumeId = "vol-0000000000000000" })),
        ["CreateSnapshot with an unknown parameter"] = C(StatusCode.InvalidArgument, "'retention'", (c, f) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-4", SourceVolumeId = f.FreeVolumeId, Parameters = { ["retention"] = "1d" } })),
        ["CreateSnapshot with the name of another volume's snapshot"] = C(StatusCode.AlreadyExists, "bad-snap", (c, f) => c.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap", SourceVolumeId = f.PublishedVolumeId })),

        // DeleteSnapshot
        ["DeleteSnapshot without snapshot_id"] = C(StatusCode.InvalidArgument, "snapshot_id", (c, _) => c.DeleteSnapshotAsync(new DeleteSnapshotRequest())),

        // ListSnapshots
        ["ListSnapshots with negative max_entries"] = C(StatusCode.InvalidArgument, "max_entries", (c, _) => c.ListSnapshotsAsync(new ListSnapshotsRequest { MaxEntries = -5 })),
        ["ListSnapshots with a token that does not parse"] = C(StatusCode.Aborted, "starting_token", (c, _) => c.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "-1" })),
        ["ListSnapshots with a token past the end"] = C(StatusCode.Aborted, "starting_token", (c, _) => c.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "42" })),

        // GetSnapshot
        ["GetSnapshot without snapshot_id"] = C(StatusCode.InvalidArgument, "snapshot_id", (c, _) => c.GetSnapshotAsync(new GetSnapshotRequest())),
        ["GetSnapshot of a missing snapshot"] = C(StatusCode.NotFound, "snap-0000000000000000", (c, _) => c.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = "snap-0000000000000000" })),

        // ControllerExpandVolume
        ["ControllerExpandVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerExpandVolumeAsync(Expand("", 32 * MiB))),
        ["ControllerExpandVolume without capacity_range"] = C(StatusCode.InvalidArgument, "capacity_range", (c, f) => c.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest { VolumeId = f.FreeVolumeId })),
        ["ControllerExpandVolume with negative required_bytes"] = C(StatusCode.InvalidArgument, "required_bytes", (c, f) => c.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, -1))),
        ["ControllerExpandVolume with limit below required"] = C(StatusCode.InvalidArgument, "limit_bytes", (c, f) => c.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 64 * MiB, 32 * MiB))),
        ["ControllerExpandVolume with a malformed capability"] = C(StatusCode.InvalidArgument, "volume_capability", (c, f) => c.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 64 * MiB, capability: new VolumeCapability { Block = new() }))),
        ["ControllerExpandVolume of a missing volume"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.ControllerExpandVolumeAsync(Expand("vol-0000000000000000", 32 * MiB))),
        ["ControllerExpandVolume beyond its limit"] = C(StatusCode.OutOfRange, "limit", (c, f) => c.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 32 * MiB + 1, 32 * MiB + 1))),
        ["ControllerExpandVolume beyond the backend's capacity"] = C(StatusCode.ResourceExhausted, "bytes", (c, f) => c.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, BadRequestFixture.BackendCapacity))),

        // ControllerGetVolume
        ["ControllerGetVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerGetVolumeAsync(new ControllerGetVolumeRequest())),
        ["ControllerGetVolume of a missing volume"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = "vol-0000000000000000" })),

        // ControllerModifyVolume
        ["ControllerModifyVolume without volume_id"] = C(StatusCode.InvalidArgument, "volume_id", (c, _) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { MutableParameters = { ["a"] = "b" } })),
        ["ControllerModifyVolume of a missing volume without mutable_parameters"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = "vol-0000000000000000" })),
        ["ControllerModifyVolume of a missing volume"] = C(StatusCode.NotFound, "vol-0000000000000000", (c, _) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = "vol-0000000000000000", MutableParameters = { ["a"] = "b" } })),
        ["ControllerModifyVolume with an unknown key"] = C(StatusCode.InvalidArgument, "'iops'", (c, f) => c.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["iops"] = "3000" } })),
    };

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (var name in Cases.Keys)
        {
            data.Add(name);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_request_fails_with_the_spec_status_and_names_the_problem(string name)
    {
        var @case = Cases[name];

        var ex = await Assert.ThrowsAsync<RpcException>(() => @case.Run(fixture.Driver.Controller, fixture));

        Assert.True(@case.Code == ex.StatusCode, $"{name}: expected {@case.Code}, got {ex.StatusCode}: {ex.Status.Detail}");
        Assert.Contains(@case.MessagePart, ex.Status.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Every_controller_rpc_has_a_bad_request_case()
    {
        var rpcs = Csi.V1.Controller.Descriptor.Methods.Select(m => m.Name)
            .Where(m => m is not ("ControllerGetCapabilities" or "CreateVolumeGroupSnapshot" or "DeleteVolumeGroupSnapshot" or "GetVolumeGroupSnapshot" or "GroupControllerGetCapabilities"));

        foreach (var rpc in rpcs)
        {
            Assert.Contains(Cases.Keys, k => k.StartsWith(rpc + " ", StringComparison.Ordinal));
        }
    }
}
