"""`FSCCLIPModel`: a `CLIPModel` that also returns projected patch and token features.

The subclass adds no parameters, so it reads and writes plain CLIP checkpoints: a directory written by
`CLIPModel.save_pretrained` loads with `FSCCLIPModel.from_pretrained` and the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from transformers import CLIPConfig, CLIPModel
from transformers.utils import ModelOutput


@dataclass
class FSCCLIPOutput(ModelOutput):
    """Everything the FSC objectives need from one forward pass.

    B images, B captions and K·B negative captions (K negative types), D the projection width,
    P image patches, T text positions (captions and negatives share T).

    Args:
        image_embeds (`(B, D)`): L2-normalised global image embeddings.
        text_embeds (`(B, D)`): L2-normalised global caption embeddings.
        neg_text_embeds (`(K, B, D)`): L2-normalised embeddings of the negatives; `None` without negatives.
        logit_scale (`()`): the exponentiated logit scale `s`.
        logits_per_image (`(B, B)`): `s · image_embeds @ text_embedsᵀ`, as `CLIPModel` returns it.
        logits_per_text (`(B, B)`): its transpose.
        image_tokens (`(B, P, D)`): patch states (class token dropped) through the vision post-layernorm
            and the visual projection, not normalised. Only with `return_dense=True`.
        text_tokens (`(B, T, D)`): final (layer-normed) text states through the text projection,
            not normalised. Only with `return_dense=True`.
        text_token_mask (`(B, T)`): the attention mask with the start-of-text position set to 0.
        neg_text_tokens (`(K, B, T, D)`), neg_text_token_mask (`(K, B, T)`): the same for the negatives.
    """

    image_embeds: torch.FloatTensor | None = None
    text_embeds: torch.FloatTensor | None = None
    neg_text_embeds: torch.FloatTensor | None = None
    logit_scale: torch.FloatTensor | None = None
    logits_per_image: torch.FloatTensor | None = None
    logits_per_text: torch.FloatTensor | None = None
    image_tokens: torch.FloatTensor | None = None
    text_tokens: torch.FloatTensor | None = None
    text_token_mask: torch.LongTensor | None = None
    neg_text_tokens: torch.FloatTensor | None = None
    neg_text_token_mask: torch.LongTensor | None = None


class FSCCLIPModel(CLIPModel):
    """CLIP whose forward also encodes hard-negative captions and, on request, dense tokens.

    Captions and negatives go through the text tower in one batch of B + K·B sequences, and the
    dense tokens come from the same hidden states as the pooled embeddings: one pass per tower.
    """

    def post_init(self):
        super().post_init()
        # FSDP's default wrapping (`--fsdp full_shard` without a layer class) shards each module class listed
        # here as a unit of its own. CLIP's list (gathered from the towers) also names the embedding modules,
        # which puts the token embedding in a unit, and accelerate's FSDP2 preparation then shards the input
        # embedding as a unit once more, which fails: the encoder layers are the units.
        self._no_split_modules = {"CLIPEncoderLayer"}

    def get_input_embeddings(self) -> torch.nn.Embedding:
        """The text tower's token embedding (transformers' CLIPModel leaves this unanswered, and
        accelerate's FSDP2 preparation asks for it: without it `fsdp.yaml` fails before the first step)."""
        return self.text_model.embeddings.token_embedding

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.FloatTensor | None = None,
        attention_mask: torch.LongTensor | None = None,
        neg_input_ids: torch.LongTensor | None = None,
        neg_attention_mask: torch.LongTensor | None = None,
        return_dense: bool = False,
        interpolate_pos_encoding: bool = False,
        **kwargs,
    ) -> FSCCLIPOutput:
        """Encode B images, B captions `(B, T)` and optionally K·B negatives `(K, B, T)`."""
        if input_ids is None or pixel_values is None:
            raise ValueError("FSCCLIPModel.forward needs both `input_ids` and `pixel_values`.")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        batch, length = input_ids.shape
        num_types = 0
        all_ids, all_mask = input_ids, attention_mask
        if neg_input_ids is not None:
            if neg_input_ids.dim() != 3 or neg_input_ids.shape[1:] != input_ids.shape:
                raise ValueError(
                    f"neg_input_ids must be (K, B, T) = (K, {batch}, {length}) to match input_ids; "
                    f"got {tuple(neg_input_ids.shape)}. Pad captions and negatives to the same length."
                )
            if neg_attention_mask is None:
                neg_attention_mask = torch.ones_like(neg_input_ids)
            num_types = neg_input_ids.shape[0]
            all_ids = torch.cat([input_ids, neg_input_ids.reshape(-1, length)])
            all_mask = torch.cat([attention_mask, neg_attention_mask.reshape(-1, length)])

        vision = self.vision_model(
            pixel_values=pixel_values, interpolate_pos_encoding=interpolate_pos_encoding, return_dict=True
        )
        text = self.text_model(input_ids=all_ids, attention_mask=all_mask, return_dict=True)

        image_embeds = F.normalize(self.visual_projection(vision.pooler_output), dim=-1)
        all_text_embeds = F.normalize(self.text_projection(text.pooler_output), dim=-1)
        text_embeds = all_text_embeds[:batch]
        logit_scale = self.logit_scale.exp().reshape(())  # also when an engine holds it as a vector
        logits_per_text = logit_scale * text_embeds @ image_embeds.t()

        output = FSCCLIPOutput(
            image_embeds=image_embeds,
            text_embeds=text_embeds,
            neg_text_embeds=all_text_embeds[batch:].view(num_types, batch, -1) if num_types else None,
            logit_scale=logit_scale,
            logits_per_image=logits_per_text.t(),
            logits_per_text=logits_per_text,
        )
        if return_dense:
            patches = self.vision_model.post_layernorm(vision.last_hidden_state[:, 1:])
            output.image_tokens = self.visual_projection(patches)
            all_tokens = self.text_projection(text.last_hidden_state)
            # The start-of-text token carries no content of its own: it is left out of token matching.
            all_token_mask = all_mask.clone()
            all_token_mask[:, 0] = 0
            output.text_tokens = all_tokens[:batch]
            output.text_token_mask = all_token_mask[:batch]
            if num_types:
                output.neg_text_tokens = all_tokens[batch:].view(num_types, batch, length, -1)
                output.neg_text_token_mask = all_token_mask[batch:].view(num_types, batch, length)
        return output


def tiny_clip_config(
    vocab_size: int = 1000,
    image_size: int = 32,
    patch_size: int = 8,
    hidden_size: int = 32,
    projection_dim: int = 16,
    num_layers: int = 2,
    num_heads: int = 2,
    max_position_embeddings: int = 77,
    eos_token_id: int | None = None,
    bos_token_id: int | None = None,
    pad_token_id: int | None = None,
) -> CLIPConfig:
    """A small randomly initialised CLIP, for tests, benchmarks and the offline demo.

    `eos_token_id` should be the tokenizer's end-of-text id: the text tower pools at its first
    occurrence. Left unset, it defaults to `vocab_size - 1` (the usual place of CLIP's end-of-text).
    """
    eos = vocab_size - 1 if eos_token_id is None else eos_token_id
    bos = vocab_size - 2 if bos_token_id is None else bos_token_id
    tower = dict(
        hidden_size=hidden_size,
        intermediate_size=4 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        projection_dim=projection_dim,
    )
    return CLIPConfig(
        text_config=dict(
            tower,
            vocab_size=vocab_size,
            max_position_embeddings=max_position_embeddings,
            eos_token_id=eos,
            bos_token_id=bos,
            pad_token_id=eos if pad_token_id is None else pad_token_id,
        ),
        vision_config=dict(tower, image_size=image_size, patch_size=patch_size),
        projection_dim=projection_dim,
    )
