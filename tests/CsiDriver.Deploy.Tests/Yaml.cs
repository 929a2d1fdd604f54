using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.Serialization;

namespace CsiDriver.Deploy.Tests;

/// <summary>
/// One parsed YAML document as plain maps, lists and strings, with the few lookups the manifest
/// checks need. A missing key reads as null so a check can say what is missing.
/// </summary>
internal sealed class Yaml
{
    private static readonly IDeserializer Deserializer = new DeserializerBuilder().Build();

    public Yaml(object? value, string origin)
    {
        Value = value;
        Origin = origin;
    }

    public object? Value { get; }

    /// <summary>Where the document came from, for assertion messages.</summary>
    public string Origin { get; }

    public static IReadOnlyList<Yaml> ParseStream(string text, string origin)
    {
        var documents = new List<Yaml>();
        var parser = new Parser(new StringReader(text));
        parser.Consume<StreamStart>();
        var index = 0;
        while (parser.Accept<DocumentStart>(out _))
        {
            var value = Deserializer.Deserialize<object?>(parser);
            if (value is not null)
            {
                documents.Add(new Yaml(value, $"{origin} (document {index})"));
            }
            index++;
        }
        return documents;
    }

    public Yaml this[string key] =>
        new(Value is IDictionary<object, object> map && map.TryGetValue(key, out var v) ? v : null, $"{Origin}.{key}");

    public bool IsNull => Value is null;

    public string? Str => Value switch
    {
        null => null,
        string s => s,
        _ => Convert.ToString(Value, System.Globalization.CultureInfo.InvariantCulture),
    };

    public IReadOnlyList<Yaml> Items => Value is IList<object> list
        ? list.Select((v, i) => new Yaml(v, $"{Origin}[{i}]")).ToList()
        : [];

    public IReadOnlyList<string> Strings => Items.Select(i => i.Str ?? "").ToList();

    public IEnumerable<string> Keys => Value is IDictionary<object, object> map ? map.Keys.Select(k => k.ToString() ?? "") : [];

    public string Kind => this["kind"].Str ?? "";

    public string Name => this["metadata"]["name"].Str ?? "";

    public override string ToString() => Origin;
}
