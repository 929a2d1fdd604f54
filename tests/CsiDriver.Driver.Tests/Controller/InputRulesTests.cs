using CsiDriver.Core.Errors;
using CsiDriver.Core.Validation;
using CsiDriver.Core.Volumes;
using CsiDriver.Driver.Grpc;

namespace CsiDriver.Driver.Tests.Controller;

/// <summary>The shared rules behind the hostile-input tables: bounded echoes, exact numbers, one capacity plan.</summary>
[Trait("Category", "Unit")]
public sealed class InputRulesTests
{
    private const long MiB = 1L << 20;
    private const long GiB = 1L << 30;

    private static readonly SizeRules Local = new(MiB, MiB, 16 * GiB, GiB, "local");

    [Fact]
    public void Short_input_is_echoed_as_it_is()
    {
        Assert.Equal("pvc-1", InputEcho.Of("pvc-1"));
        Assert.Equal(string.Empty, InputEcho.Of(null));
    }

    [Fact]
    public void Long_input_is_cut_at_128_characters_and_says_how_long_it_was()
    {
        var echoed = InputEcho.Of(new string('x', 10_000));

        Assert.Equal(new string('x', 128) + "…(10000 bytes)", echoed);
    }

    [Fact]
    public void A_cut_never_splits_a_surrogate_pair_and_control_characters_are_escaped()
    {
        var emoji = new string('x', 127) + "😀" + new string('y', 10);
        Assert.Equal(new string('x', 127) + "…(141 bytes)", InputEcho.Of(emoji));
        Assert.Equal("a\\u000ab\\u0000", InputEcho.Of("a\nb\0"));
    }

    [Fact]
    public void A_status_message_is_capped_at_one_KiB()
    {
        Assert.Equal("short", StatusMapping.Bounded("short"));
        var bounded = StatusMapping.Bounded(new string('m', 5000));
        Assert.StartsWith(new string('m', StatusMapping.MaxDetailChars), bounded, StringComparison.Ordinal);
        Assert.EndsWith("…(5000 chars)", bounded, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1024", 1024)]
    [InlineData("0", 0)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void Plain_digits_parse(string text, long expected)
    {
        Assert.True(ExactParameter.TryParseDigits(text, out var value));
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1\0")]
    [InlineData("+1")]
    [InlineData("-1")]
    [InlineData("01")]
    [InlineData("1e3")]
    [InlineData("1_000")]
    [InlineData("0x10")]
    [InlineData("١")]
    [InlineData("9223372036854775808")]
    [InlineData("18446744073709552640")]
    public void Anything_else_does_not(string text) => Assert.False(ExactParameter.TryParseDigits(text, out _));

    [Fact]
    public void A_number_outside_its_range_is_refused_before_any_narrowing()
    {
        var error = Assert.Throws<StorageException>(() => ExactParameter.Int32("blockSize", "4294968320", 1024, 4096));

        Assert.Equal(FailureKind.InvalidArgument, error.Kind);
        Assert.Contains("blockSize=4294968320", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0, 0, GiB)]
    [InlineData(1, 0, 0, MiB)]
    [InlineData(MiB + 1, 0, 0, 2 * MiB)]
    [InlineData(0, 100 * MiB, 0, 100 * MiB)]
    [InlineData(0, 0, 3 * GiB, 3 * GiB)]
    [InlineData(MiB, 0, 3 * GiB, 3 * GiB)]
    public void Create_sizes_round_up_and_follow_the_source(long required, long limit, long source, long expected) =>
        Assert.Equal(expected, CapacityPlan.ForCreate(required, limit, source, Local));

    [Theory]
    [InlineData(17 * GiB, 0, 0)]
    [InlineData(long.MaxValue, 0, 0)]
    [InlineData(long.MaxValue - 1, long.MaxValue, 0)]
    [InlineData(1, 1000, 0)]
    [InlineData(MiB, 2 * MiB, 3 * MiB)]
    public void Create_sizes_no_volume_can_have_are_out_of_range(long required, long limit, long source)
    {
        var error = Assert.Throws<StorageException>(() => CapacityPlan.ForCreate(required, limit, source, Local));

        Assert.Equal(FailureKind.OutOfRange, error.Kind);
    }

    [Fact]
    public void A_malformed_range_is_an_invalid_argument_wherever_it_is_checked()
    {
        Assert.Equal(FailureKind.InvalidArgument, Assert.Throws<StorageException>(() => CapacityPlan.ForCreate(-1, 0, 0, Local)).Kind);
        Assert.Equal(FailureKind.InvalidArgument, Assert.Throws<StorageException>(() => CapacityPlan.ForExpand(2 * MiB, MiB, Local)).Kind);
    }

    [Theory]
    [InlineData(3 * MiB, 0, 3 * MiB)]
    [InlineData(3 * MiB - 1, 3 * MiB + 5, 3 * MiB)]
    [InlineData(16 * GiB, 0, 16 * GiB)]
    public void Expansion_targets_round_up_within_the_limit(long required, long limit, long expected) =>
        Assert.Equal(expected, CapacityPlan.ForExpand(required, limit, Local));

    [Theory]
    [InlineData(16 * GiB + 1, 0)]
    [InlineData(MiB + 1, MiB + 2)]
    [InlineData(long.MaxValue, 0)]
    public void Expansion_targets_no_volume_can_have_are_out_of_range(long required, long limit) =>
        Assert.Equal(FailureKind.OutOfRange, Assert.Throws<StorageException>(() => CapacityPlan.ForExpand(required, limit, Local)).Kind);

    [Theory]
    [InlineData(GiB, "1 GiB")]
    [InlineData(3 * MiB, "3 MiB")]
    [InlineData(1000, "1000 bytes")]
    public void Sizes_are_shown_as_people_write_them(long bytes, string shown) => Assert.Equal(shown, CapacityPlan.Show(bytes));
}
