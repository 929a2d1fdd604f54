using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Cloud.Aws.Node;
using CsiDriver.Core.Errors;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace CsiDriver.Cloud.Aws.Tests.Node;

/// <summary>The finder against a fake /dev and /sys tree in a temp directory.</summary>
[Trait("Category", "Unit")]
public sealed class EbsDeviceFinderTests : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("ebs-finder-");
    private readonly EbsDeviceFinder _finder;

    public EbsDeviceFinderTests()
    {
        Directory.CreateDirectory(Path.Combine(_root.FullName, "dev/disk/by-id"));
        Directory.CreateDirectory(Path.Combine(_root.FullName, "sys/block"));
        _finder = new EbsDeviceFinder(Options.Create(new AwsBackendOptions { Tuning = new AwsTuning { HostRoot = _root.FullName } }), NullLogger<EbsDeviceFinder>.Instance);
    }

    public void Dispose() => _root.Delete(recursive: true);

    private void NvmeDevice(string name, string serial)
    {
        File.WriteAllText(Path.Combine(_root.FullName, "dev", name), string.Empty);
        var device = Directory.CreateDirectory(Path.Combine(_root.FullName, "sys/block", name, "device"));
        // EBS pads the serial with spaces.
        File.WriteAllText(Path.Combine(device.FullName, "serial"), serial.PadRight(20) + "\n");
    }

    private void Link(string linkName, string target) =>
        File.CreateSymbolicLink(Path.Combine(_root.FullName, "dev/disk/by-id", linkName), target);

    private static Dictionary<string, string> Context(string devicePath) => new() { [AttachmentManager.DevicePathKey] = devicePath };

    [Fact]
    public async Task Nitro_link_verified_by_serial()
    {
        NvmeDevice("nvme1n1", "vol0abc");
        Link("nvme-Amazon_Elastic_Block_Store_vol0abc", "../../nvme1n1");

        Assert.Equal("/dev/nvme1n1", await _finder.FindDeviceAsync("vol-0abc", Context("/dev/xvdba"), CancellationToken.None));
    }

    [Fact]
    public async Task Stale_link_to_another_volume_is_refused()
    {
        NvmeDevice("nvme1n1", "vol0other");
        Link("nvme-Amazon_Elastic_Block_Store_vol0abc", "../../nvme1n1");

        var error = await Assert.ThrowsAsync<StorageException>(() => _finder.FindDeviceAsync("vol-0abc", Context("/dev/xvdba"), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Stale_link_is_ignored_when_the_right_device_exists()
    {
        NvmeDevice("nvme1n1", "vol0other");
        NvmeDevice("nvme2n1", "vol0abc");
        Link("nvme-Amazon_Elastic_Block_Store_vol0abc", "../../nvme1n1");

        Assert.Equal("/dev/nvme2n1", await _finder.FindDeviceAsync("vol-0abc", Context("/dev/xvdba"), CancellationToken.None));
    }

    [Fact]
    public async Task Without_udev_link_the_serial_scan_finds_the_device()
    {
        NvmeDevice("nvme0n1", "vol0root");
        NvmeDevice("nvme3n1", "vol0abc");

        Assert.Equal("/dev/nvme3n1", await _finder.FindDeviceAsync("vol-0abc", Context("/dev/xvdbc"), CancellationToken.None));
    }

    [Fact]
    public async Task Xen_uses_the_attach_device_name_or_its_sd_alias()
    {
        File.WriteAllText(Path.Combine(_root.FullName, "dev/xvdba"), string.Empty);
        File.WriteAllText(Path.Combine(_root.FullName, "dev/sdbb"), string.Empty);

        Assert.Equal("/dev/xvdba", await _finder.FindDeviceAsync("vol-1", Context("/dev/xvdba"), CancellationToken.None));
        Assert.Equal("/dev/sdbb", await _finder.FindDeviceAsync("vol-2", Context("/dev/xvdbb"), CancellationToken.None));
    }

    [Fact]
    public async Task Xen_name_linked_to_an_nvme_device_of_another_volume_is_refused()
    {
        NvmeDevice("nvme1n1", "vol0other");
        File.CreateSymbolicLink(Path.Combine(_root.FullName, "dev/xvdba"), "nvme1n1");

        var error = await Assert.ThrowsAsync<StorageException>(() => _finder.FindDeviceAsync("vol-0abc", Context("/dev/xvdba"), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Not_attached_yet_is_not_found()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() => _finder.FindDeviceAsync("vol-0abc", Context("/dev/xvdba"), CancellationToken.None));

        Assert.Equal(FailureKind.NotFound, error.Kind);
    }

    [Fact]
    public async Task Non_ebs_volume_id_is_invalid_argument()
    {
        var error = await Assert.ThrowsAsync<StorageException>(() => _finder.FindDeviceAsync("../../etc", Context("/dev/xvdba"), CancellationToken.None));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
    }

    [Fact]
    public void Counts_nvme_instance_store_disks()
    {
        foreach (var (controller, model) in new[] { ("nvme0", "Amazon Elastic Block Store"), ("nvme1", "Amazon EC2 NVMe Instance Storage"), ("nvme2", "Amazon EC2 NVMe Instance Storage") })
        {
            var dir = Directory.CreateDirectory(Path.Combine(_root.FullName, "sys/class/nvme", controller));
            File.WriteAllText(Path.Combine(dir.FullName, "model"), model.PadRight(40) + "\n");
        }

        Assert.Equal(2, _finder.CountInstanceStoreDisks());
    }
}
