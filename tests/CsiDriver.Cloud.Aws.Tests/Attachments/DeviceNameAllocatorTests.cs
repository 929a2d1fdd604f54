using CsiDriver.Cloud.Aws.Attachments;
using CsiDriver.Core.Errors;

namespace CsiDriver.Cloud.Aws.Tests.Attachments;

[Trait("Category", "Unit")]
public sealed class DeviceNameAllocatorTests
{
    [Fact]
    public void Never_hands_out_a_name_ec2_reports_in_use_in_either_spelling()
    {
        var allocator = new DeviceNameAllocator();

        var name = allocator.Allocate("i-1", "vol-1", ["/dev/xvda", "/dev/xvdba", "/dev/sdbb"]);

        Assert.Equal("/dev/xvdbc", name);
    }

    [Fact]
    public void Same_volume_gets_the_same_name_back()
    {
        var allocator = new DeviceNameAllocator();
        var first = allocator.Allocate("i-1", "vol-1", []);

        Assert.Equal(first, allocator.Allocate("i-1", "vol-1", []));
        Assert.Equal(first, allocator.Reserved("i-1", "vol-1"));
    }

    [Fact]
    public async Task Concurrent_allocations_on_one_instance_are_unique()
    {
        var allocator = new DeviceNameAllocator();

        var names = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => allocator.Allocate("i-1", $"vol-{i}", ["/dev/xvda"]))));

        Assert.Equal(200, names.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void Names_are_per_instance()
    {
        var allocator = new DeviceNameAllocator();

        Assert.Equal(allocator.Allocate("i-1", "vol-1", []), allocator.Allocate("i-2", "vol-2", []));
    }

    [Fact]
    public void Released_name_is_reused_only_after_the_others()
    {
        var allocator = new DeviceNameAllocator();
        var first = allocator.Allocate("i-1", "vol-1", []);
        allocator.Release("i-1", "vol-1");

        var second = allocator.Allocate("i-1", "vol-2", []);

        Assert.NotEqual(first, second);
        Assert.Null(allocator.Reserved("i-1", "vol-1"));
    }

    [Fact]
    public void Reserved_names_stay_taken_even_when_ec2_does_not_list_them_yet()
    {
        var allocator = new DeviceNameAllocator();
        var inFlight = allocator.Allocate("i-1", "vol-1", []);

        // A concurrent attach saw an instance description from before the first attach.
        var other = allocator.Allocate("i-1", "vol-2", []);

        Assert.NotEqual(inFlight, other);
    }

    [Fact]
    public void Exhausted_names_are_resource_exhausted()
    {
        var allocator = new DeviceNameAllocator();
        for (var i = 0; i < DeviceNameAllocator.Capacity; i++)
        {
            allocator.Allocate("i-1", $"vol-{i}", []);
        }

        var error = Assert.Throws<StorageException>(() => allocator.Allocate("i-1", "vol-x", []));
        Assert.Equal(FailureKind.ResourceExhausted, error.Kind);
    }
}
