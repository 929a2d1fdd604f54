using Csi.V1;
using Grpc.Core;
using Xunit;
using Mode = Csi.V1.VolumeCapability.Types.AccessMode.Types.Mode;

namespace CsiDriver.Testing;

/// <summary>Request builders and assertions every backend's controller tests share; backend defaults stay with each suite.</summary>
public static class CsiRequests
{
    public static VolumeCapability Mount(Mode mode = Mode.SingleNodeWriter, string fsType = "ext4") => new()
    {
        AccessMode = new VolumeCapability.Types.AccessMode { Mode = mode },
        Mount = new VolumeCapability.Types.MountVolume { FsType = fsType },
    };

    public static VolumeCapability Block(Mode mode = Mode.SingleNodeWriter) => new()
    {
        AccessMode = new VolumeCapability.Types.AccessMode { Mode = mode },
        Block = new VolumeCapability.Types.BlockVolume(),
    };

    public static ControllerExpandVolumeRequest Expand(string volumeId, long requiredBytes, long limitBytes = 0, VolumeCapability? capability = null) => new()
    {
        VolumeId = volumeId,
        CapacityRange = new CapacityRange { RequiredBytes = requiredBytes, LimitBytes = limitBytes },
        VolumeCapability = capability,
    };

    /// <summary>Runs the call, asserts it fails with the code, and returns the exception for message checks.</summary>
    public static async Task<RpcException> AssertFailsWith<T>(StatusCode code, Func<AsyncUnaryCall<T>> call)
    {
        var ex = await Assert.ThrowsAsync<RpcException>(async () => await call());
        Assert.True(code == ex.StatusCode, $"expected {code}, got {ex.StatusCode}: {ex.Status.Detail}");
        return ex;
    }
}
