using static CsiDriver.Testing.CsiRequests;
using Csi.V1;
using CsiDriver.Testing;
using Grpc.Core;
using static CsiDriver.Driver.Tests.Controller.Requests;
using Row = CsiDriver.Testing.RefusedCall<CsiDriver.Driver.Tests.Controller.BadRequestFixture>;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>Every Controller RPC with malformed or impossible requests: the status code the CSI spec asks for, and a message naming the problem.</summary>
public sealed class ControllerBadRequestTests(BadRequestFixture fixture) : IClassFixture<BadRequestFixture>
{
    private static CreateVolumeRequest WithParameter(string key, string value)
    {
        var request = Create("bad-param");
        request.Parameters[key] = value;
        return request;
    }

    private static CreateVolumeRequest WithCapability(VolumeCapability capability) => Create("bad-cap", capability: capability);

    private static readonly RefusedCallTable<BadRequestFixture> Cases = new()
    {
        // CreateVolume
        ["CreateVolume without name"] = Row.Of(StatusCode.InvalidArgument, "name", f => f.Controller.CreateVolumeAsync(Create(""))),
        ["CreateVolume with a name over 128 bytes"] = Row.Of(StatusCode.InvalidArgument, "name", f => f.Controller.CreateVolumeAsync(Create(new string('n', 129)))),
        ["CreateVolume with a control character in the name"] = Row.Of(StatusCode.InvalidArgument, "name", f => f.Controller.CreateVolumeAsync(Create("bad\u0001name"))),
        ["CreateVolume without capabilities"] = Row.Of(StatusCode.InvalidArgument, "volume_capabilities", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-nocap" })),
        ["CreateVolume capability without access mode"] = Row.Of(StatusCode.InvalidArgument, "access_mode", f => f.Controller.CreateVolumeAsync(WithCapability(new VolumeCapability { Mount = new() }))),
        ["CreateVolume capability without access type"] = Row.Of(StatusCode.InvalidArgument, "access_type", f => f.Controller.CreateVolumeAsync(WithCapability(new VolumeCapability { AccessMode = new() { Mode = Mode.SingleNodeWriter } }))),
        ["CreateVolume with an unsupported fs_type"] = Row.Of(StatusCode.InvalidArgument, "ntfs", f => f.Controller.CreateVolumeAsync(WithCapability(Mount(fsType: "ntfs")))),
        ["CreateVolume mount with multi-node writers"] = Row.Of(StatusCode.InvalidArgument, "MultiNodeMultiWriter", f => f.Controller.CreateVolumeAsync(WithCapability(Mount(Mode.MultiNodeMultiWriter)))),
        ["CreateVolume with negative required_bytes"] = Row.Of(StatusCode.InvalidArgument, "required_bytes", f => f.Controller.CreateVolumeAsync(Create("bad-neg", -1))),
        ["CreateVolume with negative limit_bytes"] = Row.Of(StatusCode.InvalidArgument, "limit_bytes", f => f.Controller.CreateVolumeAsync(Create("bad-neg", 0, -1))),
        ["CreateVolume with limit below required"] = Row.Of(StatusCode.InvalidArgument, "limit_bytes", f => f.Controller.CreateVolumeAsync(Create("bad-range", 10 * MiB, 5 * MiB))),
        ["CreateVolume with an unknown parameter"] = Row.Of(StatusCode.InvalidArgument, "'color'", f => f.Controller.CreateVolumeAsync(WithParameter("color", "blue"))),
        ["CreateVolume with a malformed format parameter"] = Row.Of(StatusCode.InvalidArgument, "blockSize", f => f.Controller.CreateVolumeAsync(WithParameter("blockSize", "3"))),
        ["CreateVolume with an unsupported fstype parameter"] = Row.Of(StatusCode.InvalidArgument, "fstype", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-fsparam", VolumeCapabilities = { Mount(fsType: "") }, Parameters = { ["csi.storage.k8s.io/fstype"] = "zfs" } })),
        ["CreateVolume with an unknown mutable parameter"] = Row.Of(StatusCode.InvalidArgument, "'speed'", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-mutable", VolumeCapabilities = { Mount() }, MutableParameters = { ["speed"] = "fast" } })),
        ["CreateVolume from a snapshot with an empty id"] = Row.Of(StatusCode.InvalidArgument, "snapshot_id", f => f.Controller.CreateVolumeAsync(FromSnapshot("bad-src", ""))),
        ["CreateVolume from a volume with an empty id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.CreateVolumeAsync(FromVolume("bad-src", ""))),
        ["CreateVolume with an empty content source"] = Row.Of(StatusCode.InvalidArgument, "volume_content_source", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest { Name = "bad-src", VolumeCapabilities = { Mount() }, VolumeContentSource = new() })),
        ["CreateVolume from a missing snapshot"] = Row.Of(StatusCode.NotFound, "snap-0000000000000000", f => f.Controller.CreateVolumeAsync(FromSnapshot("bad-src", "snap-0000000000000000"))),
        ["CreateVolume from a missing volume"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.CreateVolumeAsync(FromVolume("bad-src", "vol-0000000000000000"))),
        ["CreateVolume with a limit below one MiB"] = Row.Of(StatusCode.OutOfRange, "limit_bytes", f => f.Controller.CreateVolumeAsync(Create("bad-tiny", 1, 1000))),
        ["CreateVolume from a snapshot bigger than the limit"] = Row.Of(StatusCode.OutOfRange, "limit_bytes", f => f.Controller.CreateVolumeAsync(FromSnapshot("bad-restore", f.SnapshotId, 1 * MiB, 8 * MiB))),
        ["CreateVolume beyond the backend's capacity"] = Row.Of(StatusCode.ResourceExhausted, "bytes", f => f.Controller.CreateVolumeAsync(Create("bad-huge", BadRequestFixture.BackendCapacity))),
        ["CreateVolume in a zone the backend does not serve"] = Row.Of(StatusCode.ResourceExhausted, "topology", f => f.Controller.CreateVolumeAsync(new CreateVolumeRequest
        {
            Name = "bad-zone",
            VolumeCapabilities = { Mount() },
            AccessibilityRequirements = new TopologyRequirement { Requisite = { new Topology { Segments = { ["topology.kubernetes.io/zone"] = "elsewhere" } } } },
        })),
        ["CreateVolume with the name of another volume but another size"] = Row.Of(StatusCode.AlreadyExists, "bad-free", f => f.Controller.CreateVolumeAsync(Create("bad-free", 64 * MiB))),

        // DeleteVolume
        ["DeleteVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.DeleteVolumeAsync(new DeleteVolumeRequest())),
        ["DeleteVolume of a published volume"] = Row.Of(StatusCode.FailedPrecondition, "published", f => f.Controller.DeleteVolumeAsync(new DeleteVolumeRequest { VolumeId = f.PublishedVolumeId })),

        // ControllerPublishVolume
        ["ControllerPublishVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerPublishVolumeAsync(Publish(""))),
        ["ControllerPublishVolume without node_id"] = Row.Of(StatusCode.InvalidArgument, "node_id", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, ""))),
        ["ControllerPublishVolume without capability"] = Row.Of(StatusCode.InvalidArgument, "volume_capability", f => f.Controller.ControllerPublishVolumeAsync(new ControllerPublishVolumeRequest { VolumeId = f.FreeVolumeId, NodeId = "test-node" })),
        ["ControllerPublishVolume mount with multi-node writers"] = Row.Of(StatusCode.InvalidArgument, "volume_capability", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, capability: Mount(Mode.MultiNodeSingleWriter)))),
        ["ControllerPublishVolume of a missing volume"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.ControllerPublishVolumeAsync(Publish("vol-0000000000000000"))),
        ["ControllerPublishVolume to a missing node"] = Row.Of(StatusCode.NotFound, "other-node", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.FreeVolumeId, "other-node"))),
        ["ControllerPublishVolume of a volume published to another node"] = Row.Of(StatusCode.FailedPrecondition, "test-node", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.PublishedVolumeId, "other-node"))),
        ["ControllerPublishVolume again with another readonly flag"] = Row.Of(StatusCode.AlreadyExists, "readonly", f => f.Controller.ControllerPublishVolumeAsync(Publish(f.PublishedVolumeId, readOnly: true))),

        // ControllerUnpublishVolume
        ["ControllerUnpublishVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerUnpublishVolumeAsync(new ControllerUnpublishVolumeRequest { NodeId = "test-node" })),

        // ValidateVolumeCapabilities
        ["ValidateVolumeCapabilities without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeCapabilities = { Mount() } })),
        ["ValidateVolumeCapabilities without capabilities"] = Row.Of(StatusCode.InvalidArgument, "volume_capabilities", f => f.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = f.FreeVolumeId })),
        ["ValidateVolumeCapabilities of a missing volume"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.ValidateVolumeCapabilitiesAsync(new ValidateVolumeCapabilitiesRequest { VolumeId = "vol-0000000000000000", VolumeCapabilities = { Mount() } })),

        // ListVolumes
        ["ListVolumes with negative max_entries"] = Row.Of(StatusCode.InvalidArgument, "max_entries", f => f.Controller.ListVolumesAsync(new ListVolumesRequest { MaxEntries = -1 })),
        ["ListVolumes with a token that does not parse"] = Row.Of(StatusCode.Aborted, "starting_token", f => f.Controller.ListVolumesAsync(new ListVolumesRequest { StartingToken = "garbage" })),
        ["ListVolumes with a token past the end"] = Row.Of(StatusCode.Aborted, "starting_token", f => f.Controller.ListVolumesAsync(new ListVolumesRequest { StartingToken = "999999" })),

        // GetCapacity
        ["GetCapacity is not offered"] = Row.Of(StatusCode.Unimplemented, "GetCapacity", f => f.Controller.GetCapacityAsync(new GetCapacityRequest())),

        // CreateSnapshot
        ["CreateSnapshot without name"] = Row.Of(StatusCode.InvalidArgument, "name", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { SourceVolumeId = f.FreeVolumeId })),
        ["CreateSnapshot without source_volume_id"] = Row.Of(StatusCode.InvalidArgument, "source_volume_id", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-2" })),
        ["CreateSnapshot of a missing volume"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-3", SourceVolumeId = "vol-0000000000000000" })),
        ["CreateSnapshot with an unknown parameter"] = Row.Of(StatusCode.InvalidArgument, "'retention'", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap-4", SourceVolumeId = f.FreeVolumeId, Parameters = { ["retention"] = "1d" } })),
        ["CreateSnapshot with the name of another volume's snapshot"] = Row.Of(StatusCode.AlreadyExists, "bad-snap", f => f.Controller.CreateSnapshotAsync(new CreateSnapshotRequest { Name = "bad-snap", SourceVolumeId = f.PublishedVolumeId })),

        // DeleteSnapshot
        ["DeleteSnapshot without snapshot_id"] = Row.Of(StatusCode.InvalidArgument, "snapshot_id", f => f.Controller.DeleteSnapshotAsync(new DeleteSnapshotRequest())),

        // ListSnapshots
        ["ListSnapshots with negative max_entries"] = Row.Of(StatusCode.InvalidArgument, "max_entries", f => f.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { MaxEntries = -5 })),
        ["ListSnapshots with a token that does not parse"] = Row.Of(StatusCode.Aborted, "starting_token", f => f.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "-1" })),
        ["ListSnapshots with a token past the end"] = Row.Of(StatusCode.Aborted, "starting_token", f => f.Controller.ListSnapshotsAsync(new ListSnapshotsRequest { StartingToken = "42" })),

        // GetSnapshot
        ["GetSnapshot without snapshot_id"] = Row.Of(StatusCode.InvalidArgument, "snapshot_id", f => f.Controller.GetSnapshotAsync(new GetSnapshotRequest())),
        ["GetSnapshot of a missing snapshot"] = Row.Of(StatusCode.NotFound, "snap-0000000000000000", f => f.Controller.GetSnapshotAsync(new GetSnapshotRequest { SnapshotId = "snap-0000000000000000" })),

        // ControllerExpandVolume
        ["ControllerExpandVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerExpandVolumeAsync(Expand("", 32 * MiB))),
        ["ControllerExpandVolume without capacity_range"] = Row.Of(StatusCode.InvalidArgument, "capacity_range", f => f.Controller.ControllerExpandVolumeAsync(new ControllerExpandVolumeRequest { VolumeId = f.FreeVolumeId })),
        ["ControllerExpandVolume with negative required_bytes"] = Row.Of(StatusCode.InvalidArgument, "required_bytes", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, -1))),
        ["ControllerExpandVolume with limit below required"] = Row.Of(StatusCode.InvalidArgument, "limit_bytes", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 64 * MiB, 32 * MiB))),
        ["ControllerExpandVolume with a malformed capability"] = Row.Of(StatusCode.InvalidArgument, "volume_capability", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 64 * MiB, capability: new VolumeCapability { Block = new() }))),
        ["ControllerExpandVolume of a missing volume"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.ControllerExpandVolumeAsync(Expand("vol-0000000000000000", 32 * MiB))),
        ["ControllerExpandVolume beyond its limit"] = Row.Of(StatusCode.OutOfRange, "limit", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, 32 * MiB + 1, 32 * MiB + 1))),
        ["ControllerExpandVolume beyond the backend's capacity"] = Row.Of(StatusCode.ResourceExhausted, "bytes", f => f.Controller.ControllerExpandVolumeAsync(Expand(f.FreeVolumeId, BadRequestFixture.BackendCapacity))),

        // ControllerGetVolume
        ["ControllerGetVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest())),
        ["ControllerGetVolume of a missing volume"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.ControllerGetVolumeAsync(new ControllerGetVolumeRequest { VolumeId = "vol-0000000000000000" })),

        // ControllerModifyVolume
        ["ControllerModifyVolume without volume_id"] = Row.Of(StatusCode.InvalidArgument, "volume_id", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { MutableParameters = { ["a"] = "b" } })),
        ["ControllerModifyVolume of a missing volume without mutable_parameters"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = "vol-0000000000000000" })),
        ["ControllerModifyVolume of a missing volume"] = Row.Of(StatusCode.NotFound, "vol-0000000000000000", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = "vol-0000000000000000", MutableParameters = { ["a"] = "b" } })),
        ["ControllerModifyVolume with an unknown key"] = Row.Of(StatusCode.InvalidArgument, "'iops'", f => f.Controller.ControllerModifyVolumeAsync(new ControllerModifyVolumeRequest { VolumeId = f.FreeVolumeId, MutableParameters = { ["iops"] = "3000" } })),
    };

    public static TheoryData<string> CaseNames() => Cases.Names();

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Bad_request_fails_with_the_spec_status_and_names_the_problem(string name) =>
        await Cases[name].AssertRefusedAsync(fixture);

    [Fact]
    public void Every_controller_rpc_has_a_bad_request_case() =>
        Assert.Empty(Cases.RpcsWithoutRow(Csi.V1.Controller.Descriptor, "ControllerGetCapabilities"));
}
