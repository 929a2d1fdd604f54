using Google.Protobuf.Reflection;
using Grpc.Core;
using Xunit;

namespace CsiDriver.Testing;

/// <summary>
/// One row of a table of requests the driver must refuse (the bad-request and hostile-input tables): the exact status
/// code, a part of the message that names what was wrong, the call, and optionally the class of input it belongs to.
/// </summary>
public sealed record RefusedCall<TFixture>(StatusCode Code, string MessagePart, Func<TFixture, Task> Run, string Class = "")
{
    /// <summary>No answer echoes more than a bounded piece of the input: 128 characters per echo, a few echoes.</summary>
    public const int MaxMessageChars = 600;

    public static RefusedCall<TFixture> Of<T>(StatusCode code, string messagePart, Func<TFixture, AsyncUnaryCall<T>> call) =>
        new(code, messagePart, async f => await call(f));

    public static RefusedCall<TFixture> Of<T>(string @class, StatusCode code, string messagePart, Func<TFixture, AsyncUnaryCall<T>> call) =>
        new(code, messagePart, async f => await call(f), @class);

    /// <summary>Runs the call and asserts it failed with the row's code and a short message naming the problem.</summary>
    public async Task AssertRefusedAsync(TFixture fixture)
    {
        var error = await Assert.ThrowsAsync<RpcException>(() => Run(fixture));
        Assert.True(Code == error.StatusCode, $"expected {Code}, got {error.StatusCode}: {error.Status.Detail}");
        Assert.Contains(MessagePart, error.Status.Detail, StringComparison.Ordinal);
        Assert.True(error.Status.Detail.Length <= MaxMessageChars,
            $"{error.Status.Detail.Length} characters: {error.Status.Detail[..Math.Min(200, error.Status.Detail.Length)]}");
    }
}

/// <summary>
/// A table of refused calls by name, the name saying what is wrong (a bad-request row starts with its RPC's name).
/// A test class runs it as a theory: <c>[MemberData]</c> of <see cref="Names"/>, then <c>Cases[name].AssertRefusedAsync</c>.
/// </summary>
public sealed class RefusedCallTable<TFixture> : Dictionary<string, RefusedCall<TFixture>>
{
    public RefusedCallTable()
        : base(StringComparer.Ordinal)
    {
    }

    public TheoryData<string> Names() => [.. Keys];

    /// <summary>Rows per class, for a test that each class keeps its rows.</summary>
    public IReadOnlyDictionary<string, int> CountByClass() =>
        Values.GroupBy(c => c.Class).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>The RPCs of <paramref name="service"/> (but <paramref name="exempt"/>) that no row's name starts with.</summary>
    public IReadOnlyList<string> RpcsWithoutRow(ServiceDescriptor service, params string[] exempt) =>
        service.Methods.Select(m => m.Name)
            .Where(rpc => !exempt.Contains(rpc, StringComparer.Ordinal) && !Keys.Any(k => k.StartsWith(rpc + " ", StringComparison.Ordinal)))
            .ToList();
}
