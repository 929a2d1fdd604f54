using Google.Protobuf.Reflection;
using Grpc.Core;
using Xunit;

namespace CsiDriver.Testing;

/// <summary>
/// One row of a table of requests the driver must refuse (the bad-request and hostile-input tables): the exact status
/// code, a part of the message that names what was wrong, the call, and optionally the class of input it belongs to.
/// A row with <see cref="StatusCode.OK"/> is a call that must succeed (one that has to leave something alone).
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
        var mismatch = await MismatchAsync(fixture);
        Assert.True(mismatch is null, mismatch);
    }

    /// <summary>Runs the call: null when it failed with the row's code and a short message naming the problem, else what it did.</summary>
    public async Task<string?> MismatchAsync(TFixture fixture)
    {
        try
        {
            await Run(fixture);
            return Code == StatusCode.OK ? null : $"succeeded, expected {Code}";
        }
        catch (RpcException error)
        {
            var detail = error.Status.Detail;
            return error.StatusCode != Code || !detail.Contains(MessagePart, StringComparison.Ordinal)
                ? $"got {error.StatusCode} '{detail[..Math.Min(200, detail.Length)]}', expected {Code} mentioning '{MessagePart}'"
                : detail.Length > MaxMessageChars
                    ? $"a message of {detail.Length} characters: {detail[..200]}"
                    : null;
        }
    }
}

/// <summary>
/// A table of refused calls by name, the name saying what is wrong (a bad-request row starts with its RPC's name).
/// A test class runs it as a theory (<c>[MemberData]</c> of <see cref="Names"/>, then <c>Cases[name].AssertRefusedAsync</c>)
/// or, when the rows share one short-lived set-up, all at once with <see cref="AssertAllRefusedAsync"/>.
/// </summary>
public sealed class RefusedCallTable<TFixture> : Dictionary<string, RefusedCall<TFixture>>
{
    public RefusedCallTable()
        : base(StringComparer.Ordinal)
    {
    }

    public TheoryData<string> Names() => [.. Keys];

    /// <summary>Runs every row in turn against one fixture and asserts all were refused as they say, naming each that was not.</summary>
    public async Task AssertAllRefusedAsync(TFixture fixture)
    {
        var mismatches = await MismatchesAsync(fixture);
        Assert.True(mismatches.Count == 0, string.Join(Environment.NewLine, mismatches.Select(m => $"{m.Name}: {m.Problem}")));
    }

    /// <summary>
    /// Runs every row in turn against one fixture: the rows not refused as they say and, given <paramref name="state"/>
    /// (what must not change, as lines), the rows after which it changed.
    /// </summary>
    public async Task<IReadOnlyList<(string Name, string Problem)>> MismatchesAsync(TFixture fixture, Func<IReadOnlyList<string>>? state = null)
    {
        var mismatches = new List<(string Name, string Problem)>();
        foreach (var (name, row) in this)
        {
            var before = state?.Invoke();
            if (await row.MismatchAsync(fixture) is { } mismatch)
            {
                mismatches.Add((name, mismatch));
            }
            if (before is not null && state!() is var after && !before.SequenceEqual(after))
            {
                mismatches.Add((name, $"changed: -{string.Join(" -", before.Except(after))} +{string.Join(" +", after.Except(before))}"));
            }
        }
        return mismatches;
    }

    /// <summary>Rows per class, for a test that each class keeps its rows.</summary>
    public IReadOnlyDictionary<string, int> CountByClass() =>
        Values.GroupBy(c => c.Class).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

    /// <summary>The RPCs of <paramref name="service"/> (but <paramref name="exempt"/>) that no row's name starts with.</summary>
    public IReadOnlyList<string> RpcsWithoutRow(ServiceDescriptor service, params string[] exempt) =>
        service.Methods.Select(m => m.Name)
            .Where(rpc => !exempt.Contains(rpc, StringComparer.Ordinal) && !Keys.Any(k => k.StartsWith(rpc + " ", StringComparison.Ordinal)))
            .ToList();
}
