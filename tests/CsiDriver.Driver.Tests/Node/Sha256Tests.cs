using System.Text;
using CsiDriver.Driver.Node;

namespace CsiDriver.Driver.Tests.Node;

/// <summary>The managed SHA-256 behind the node's record file names (<see cref="Sha256"/>): the standard digest.</summary>
[Trait("Category", "Unit")]
public sealed class Sha256Tests
{
    [Theory]
    // FIPS 180-4 examples (one block, two blocks) and the empty message.
    [InlineData("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")]
    [InlineData("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    public void Known_answers(string message, string digest) =>
        Assert.Equal(digest, Convert.ToHexStringLower(Sha256.HashData(Encoding.ASCII.GetBytes(message))));

    [Fact]
    public void A_million_a()
    {
        var message = Enumerable.Repeat((byte)'a', 1_000_000).ToArray();

        Assert.Equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", Convert.ToHexStringLower(Sha256.HashData(message)));
    }

    [Fact]
    public void Every_length_around_the_block_and_padding_boundaries_matches_the_platform()
    {
        var random = new Random(20261130);
        for (var length = 0; length <= 200; length++)
        {
            var message = new byte[length];
            random.NextBytes(message);

            Assert.Equal(System.Security.Cryptography.SHA256.HashData(message), Sha256.HashData(message));
        }
    }

    [Fact]
    public void Volume_ids_of_both_backends_and_of_the_spec_maximum_match_the_platform()
    {
        string[] ids = ["vol-0123456789abcdef0", "local-3f2a9c1e5b7d4a60", new string('x', 128), "vol-ü-ß-日本"];

        foreach (var id in ids)
        {
            var bytes = Encoding.UTF8.GetBytes(id);
            Assert.Equal(System.Security.Cryptography.SHA256.HashData(bytes), Sha256.HashData(bytes));
        }
    }
}
