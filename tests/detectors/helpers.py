"""Test material the detector tests build themselves: a C2PA test certificate chain, signed and
XMP-tagged JPEGs, a tiny ONNX classifier, and composites of the shared safe-for-work photos."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
FACES = SHARED / "faces"
PHOTOS = SHARED / "photos"
VIDEOS = SHARED / "videos"

OBAMA = [FACES / "barack_obama" / f"obama{i}.jpg" for i in range(1, 5)]
CHIRAC = [FACES / "jacques_chirac" / "chirac1.jpg", FACES / "jacques_chirac" / "chirac3.jpg"]
KLOBUCHAR = [
    FACES / "amy_klobuchar" / "amy_klobuchar_2015_gpo.jpg",
    FACES / "amy_klobuchar" / "amy_klobuchar_bioguide.jpg",
]
#: A landscape without people (Kodak kodim01 is a brick house front).
NO_FACE = PHOTOS / "kodak" / "kodim01.png"

AI_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


def jpeg(image: Image.Image, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


def xmp_packet(source_type: str = AI_SOURCE, *, element_form: bool = False) -> bytes:
    """An XMP packet with Iptc4xmpExt:DigitalSourceType, as an attribute or as an element."""
    ns = 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
    if element_form:
        body = (
            f'<rdf:Description rdf:about="" {ns}>'
            f'<Iptc4xmpExt:DigitalSourceType rdf:resource="{source_type}"/></rdf:Description>'
        )
    else:
        body = f'<rdf:Description rdf:about="" {ns} Iptc4xmpExt:DigitalSourceType="{source_type}"/>'
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f"{body}</rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def c2pa_chain() -> tuple[bytes, bytes]:
    """(PEM chain leaf+CA, PEM PKCS#8 key): an ES256 signer under a throwaway test CA.

    C2PA refuses self-signed signing certificates, so this is a two-level chain with the
    extensions its certificate profile asks for (digitalSignature, emailProtection EKU, key ids).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn: str, org: str) -> x509.Name:
        return x509.Name(
            [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
        )

    def usage(sign: bool) -> x509.KeyUsage:
        return x509.KeyUsage(
            digital_signature=sign,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=not sign,
            crl_sign=not sign,
            encipher_only=False,
            decipher_only=False,
        )

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("Takedown Test Root", "Takedown Test CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage(False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("Test generator signer", "Example Generative Studio"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + ca.public_bytes(pem)
    private = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, private


def c2pa_signed_jpeg(
    source: bytes, *, source_type: str | None = AI_SOURCE, generator: str = "Example Imagine"
) -> bytes:
    """``source`` (a JPEG) with an embedded C2PA manifest signed by :func:`c2pa_chain`."""
    import c2pa

    chain, private = c2pa_chain()
    action: dict[str, str] = {"action": "c2pa.created"}
    if source_type:
        action["digitalSourceType"] = source_type
    manifest = {
        "claim_generator_info": [{"name": generator, "version": "2.1"}],
        "title": "generated.jpg",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [action]}}],
    }
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, private, None))
    out = io.BytesIO()
    with c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(source), out)
    return out.getvalue()


def tiny_classifier(path: Path, size: int = 32, layout: str = "NCHW") -> Path:
    """An ONNX model whose output is sigmoid(mean of channel 0 - mean of channel 2).

    With RGB input scaled to 0..1, pure red gives sigmoid(1) = 0.731 and pure blue sigmoid(-1).
    """
    import onnx
    from onnx import TensorProto, helper

    shape = [1, 3, size, size] if layout == "NCHW" else [1, size, size, 3]
    axes = [2, 3] if layout == "NCHW" else [1, 2]
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["image"], ["means"], axes=axes, keepdims=0),
            helper.make_node("MatMul", ["means", "w"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["prob"]),
        ],
        "tiny-red-minus-blue",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("prob", TensorProto.FLOAT, [1, 1])],
        [helper.make_tensor("w", TensorProto.FLOAT, [3, 1], [1.0, 0.0, -1.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def composite(face_photo: Path, background: Path, *, scale: float = 0.45) -> Image.Image:
    """A stand-in for a face swap: a portrait pasted, smaller, onto another photo."""
    with Image.open(background) as bg_file, Image.open(face_photo) as face_file:
        bg = bg_file.convert("RGB").resize((1000, 750))
        face = face_file.convert("RGB")
        face = face.resize((round(face.width * 750 * scale / face.height), round(750 * scale)))
        bg.paste(face, (520, 200))
        return bg


def side_by_side(*paths: Path) -> Image.Image:
    """Several portraits in one picture (a photo with several faces)."""
    images: list[Image.Image] = []
    for path in paths:
        with Image.open(path) as source:
            images.append(source.convert("RGB").resize((300, 370)))
    canvas = Image.new("RGB", (300 * len(images), 370), "white")
    for i, portrait in enumerate(images):
        canvas.paste(portrait, (300 * i, 0))
    return canvas
