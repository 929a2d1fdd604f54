using Grpc.Core;
using Xunit;

namespace CsiDriver.Testing;

/// <summary>
/// One row of a hostile-input table: which class of issue 9 it belongs to, the exact status code it must get,
/// a part of the message that names what was wrong, and the call.
/// </summary>
public sealed record HostileCase<TFixture>(string Class, StatusCode Code, string MessagePart, Func<TFixture, Task> Run)
{
    /// <summary>No answer echoes more than a bounded piece of the input: 128 characters per echo, a few echoes.</summary>
    public const int MaxMessageChars = 600;

    public static HostileCase<TFixture> Of<T>(string @class, StatusCode code, string messagePart, Func<TFixture, AsyncUnaryCall<T>> call) =>
        new(@class, code, messagePart, async f => await call(f));

    /// <summary>Runs the call and asserts it failed with the case's code and a short message naming the problem.</summary>
    public async Task AssertRefusedAsync(TFixture fixture)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Run(fixture));
        Assert.Equal(Code, error.StatusCode);
        Assert.Contains(MessagePart, error.Status.Detail, StringComparison.Ordinal);
        Assert.True(error.Status.Detail.Length <= MaxMessageChars,
            $"{error.Status.Detail.Length} characters: {error.Status.Detail[..Math.Min(200, error.Status.Detail.Length)]}");
    }

    /// <summary>Case counts per class, for a test that each class keeps its rows.</summary>
    public static IReadOnlyDictionary<string, int> CountByClass(IEnumerable<HostileCase<TFixture>> cases) =>
        cases.GroupBy(c => c.Class).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
}
